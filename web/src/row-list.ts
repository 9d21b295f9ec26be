import { h } from "./dom.js";

/**
 * A fieldset of rows the user adds and removes (an identity's meta entries, named limits). Each
 * row's controls carry the server's name for them, renumbered as rows come and go, so an error
 * about `limits[1].limit` shows at the second row's limit (field-problems.ts).
 */

export interface Row<T> {
  /** The row's labelled fields. */
  cells: HTMLElement[];
  /** The controls by the name the server gives them inside an entry (`name`, `limit`); none: the group names its errors. */
  controls: Record<string, HTMLElement>;
  /** The entry, or undefined when the row was left blank (it is then not sent). */
  read(): T | undefined;
}

export interface RowList<T> {
  element: HTMLFieldSetElement;
  read(): T[];
}

export interface RowListOptions<T> {
  legend: string;
  /** The server's name for the list (`limits`, `meta`). */
  field: string;
  hint: string;
  /** What one entry is called, for the buttons: "limit" gives "Add a limit", "Remove limit 2". */
  noun: string;
  max: number;
  initial: readonly T[];
  row(value?: T): Row<T>;
}

export function rowList<T>(options: RowListOptions<T>): RowList<T> {
  const rows: { row: Row<T>; element: HTMLElement; remove: HTMLButtonElement }[] = [];
  const list = h("div", { class: "rows" });
  const add = h("button", { type: "button", class: "secondary small" }, `Add a ${options.noun}`);
  const element = h(
    "fieldset",
    { class: "row-list", "data-field": options.field },
    h("legend", null, options.legend),
    h("p", { class: "hint" }, options.hint),
    list,
    add,
  );

  const renumber = () => {
    rows.forEach(({ row, remove }, i) => {
      for (const [name, control] of Object.entries(row.controls)) control.dataset["field"] = `${options.field}[${i}].${name}`;
      remove.setAttribute("aria-label", `Remove ${options.noun} ${i + 1}`);
    });
    add.disabled = rows.length >= options.max;
  };

  const append = (value?: T) => {
    const row = options.row(value);
    const remove = h("button", { type: "button", class: "secondary small" }, "Remove");
    const entry = { row, element: h("div", { class: "row" }, row.cells, remove), remove };
    remove.addEventListener("click", () => {
      const at = rows.indexOf(entry);
      rows.splice(at, 1);
      entry.element.remove();
      renumber();
      // Focus stays in the list: on the next row's first control, else on Add.
      const next = (rows[at] ?? rows[at - 1])?.element.querySelector<HTMLElement>("input, select");
      (next ?? add).focus();
    });
    rows.push(entry);
    list.appendChild(entry.element);
    renumber();
    return entry;
  };

  add.addEventListener("click", () => append().element.querySelector<HTMLElement>("input, select")?.focus());
  for (const value of options.initial) append(value);
  renumber();

  return { element, read: () => rows.map(({ row }) => row.read()).filter((value): value is T => value !== undefined) };
}
