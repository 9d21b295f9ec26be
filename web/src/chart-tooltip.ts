import type uPlot from "uplot";
import { h, replaceChildren, type Child } from "./dom.js";

/**
 * A uPlot plugin: a tooltip over the plot with what the hovered day holds. It is placed with the
 * CSSOM (element.style), which the console's Content-Security-Policy allows, unlike style
 * attributes. It is hidden from screen readers: the chart's table says the same.
 */
export function tooltipPlugin(describe: (index: number) => Child): uPlot.Plugin {
  const tip = h("div", { class: "chart-tip", hidden: true, "aria-hidden": "true", "data-testid": "chart-tip" });
  return {
    hooks: {
      init: (u) => {
        u.over.appendChild(tip);
      },
      setCursor: (u) => {
        const index = u.cursor.idx;
        if (index === null || index === undefined || u.cursor.left === undefined || u.cursor.left < 0) {
          tip.hidden = true;
          return;
        }
        replaceChildren(tip, describe(index));
        tip.hidden = false;
        // On the left half it sits right of the day, on the right half left of it: never off the plot.
        const x = u.valToPos(index, "x");
        const width = u.over.clientWidth;
        if (x < width / 2) {
          tip.style.left = `${Math.round(x + 10)}px`;
          tip.style.right = "";
        } else {
          tip.style.right = `${Math.round(width - x + 10)}px`;
          tip.style.left = "";
        }
      },
    },
  };
}
