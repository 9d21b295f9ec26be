/** A few lines of DOM building instead of a framework: elements, text and events only. */

export type Child = Node | string | number | bigint | null | undefined | false | readonly Child[];
type Handler = (event: Event) => void;
export type Attrs = Record<string, string | number | boolean | null | undefined | Handler>;

function append(parent: Node, child: Child): void {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child as readonly Child[]) append(parent, c);
    return;
  }
  parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
}

function apply(element: Element, attrs: Attrs | null | undefined): void {
  if (!attrs) return;
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === "function") element.addEventListener(name.slice(2).toLowerCase(), value);
    else if (name === "value" || name === "checked" || name === "disabled") (element as unknown as Record<string, unknown>)[name] = value;
    else element.setAttribute(name, value === true ? "" : String(value));
  }
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  apply(element, attrs);
  for (const child of children) append(element, child);
  return element;
}

const SVG = "http://www.w3.org/2000/svg";

export function svg(tag: string, attrs?: Attrs | null, ...children: Child[]): SVGElement {
  const element = document.createElementNS(SVG, tag) as SVGElement;
  apply(element, attrs);
  for (const child of children) append(element, child);
  return element;
}

export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  for (const child of children) append(parent, child);
}

let ids = 0;
/** A unique id for label/input pairs. */
export const uid = (prefix: string): string => `${prefix}-${++ids}`;

/** A labelled form control: the label is always a real <label for>. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  control.id ||= uid("f");
  const hintId = hint ? `${control.id}-hint` : undefined;
  if (hintId) control.setAttribute("aria-describedby", hintId);
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control, hint && h("small", { id: hintId, class: "hint" }, hint));
}

/**
 * A table in a scrolling wrapper, so it never widens the page on a phone. `cards`: on a phone each
 * row is shown as a card of label/value lines instead, so no column is cut off; every cell carries
 * its column's name for that. `empty` may carry the next step (a button or a link).
 */
export function table(
  caption: string,
  headers: readonly string[],
  rows: readonly (readonly Child[])[],
  empty: Child = "Nothing yet.",
  options: { cards?: boolean } = {},
): HTMLElement {
  return h(
    "div",
    { class: options.cards ? "table-wrap cards" : "table-wrap" },
    h(
      "table",
      null,
      h("caption", null, caption),
      h("thead", null, h("tr", null, headers.map((text) => h("th", { scope: "col" }, text)))),
      h(
        "tbody",
        null,
        rows.length === 0
          ? h("tr", null, h("td", { colspan: headers.length, class: "empty" }, empty))
          : rows.map((cells) => h("tr", null, cells.map((cell, i) => h("td", { "data-label": headers[i] }, cell)))),
      ),
    ),
  );
}

/** Headline figures: `[value, what it counts]` pairs, the value in bold; false entries are skipped. */
export function stats(...items: readonly (readonly [value: Child, label: Child] | false)[]): HTMLElement {
  return h(
    "ul",
    { class: "stats" },
    items.map((item) => item && h("li", null, h("strong", null, item[0]), " ", item[1])),
  );
}

export function select(options: readonly (readonly [value: string, label: string])[], value: string, attrs: Attrs = {}): HTMLSelectElement {
  return h("select", attrs, options.map(([v, label]) => h("option", { value: v, selected: v === value }, label)));
}
