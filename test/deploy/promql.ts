/**
 * The names a PromQL expression uses: its series selectors (metric name and the labels its
 * matchers name) and the labels it groups or matches by. Enough of PromQL's lexical grammar to
 * find them in the dashboard's and the alerts' expressions: strings, `[5m]` ranges and Grafana's
 * `$variables` are skipped, an identifier before `(` must be a PromQL function or aggregation,
 * and any other identifier that is not a keyword is a metric name. It does not check the syntax
 * beyond that; what it is for is that no expression names a metric or label keygate lacks.
 */

export interface Selector {
  metric: string;
  /** Labels named in its matchers, `{code="internal"}`. */
  labels: string[];
}

export interface PromqlNames {
  selectors: Selector[];
  /** Labels of `by`, `without`, `on`, `ignoring`, `group_left` and `group_right`. */
  grouping: string[];
}

const AGGREGATIONS = ["sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio"];
const FUNCTIONS = [
  "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh", "avg_over_time", "ceil", "changes", "clamp", "clamp_max",
  "clamp_min", "cos", "cosh", "count_over_time", "day_of_month", "day_of_week", "day_of_year", "days_in_month", "deg", "delta", "deriv",
  "double_exponential_smoothing", "exp", "floor", "histogram_avg", "histogram_count", "histogram_fraction", "histogram_quantile",
  "histogram_stddev", "histogram_stdvar", "histogram_sum", "holt_winters", "hour", "idelta", "increase", "info", "irate", "label_join",
  "label_replace", "last_over_time", "ln", "log10", "log2", "mad_over_time", "max_over_time", "min_over_time", "minute", "month", "pi",
  "predict_linear", "present_over_time", "quantile_over_time", "rad", "rate", "resets", "round", "scalar", "sgn", "sin", "sinh", "sort",
  "sort_by_label", "sort_by_label_desc", "sort_desc", "sqrt", "stddev_over_time", "stdvar_over_time", "sum_over_time", "tan", "tanh", "time",
  "timestamp", "vector", "year",
];
const CALLABLE = new Set([...AGGREGATIONS, ...FUNCTIONS]);
const AGGREGATION = new Set(AGGREGATIONS);
const GROUPING = new Set(["by", "without", "on", "ignoring", "group_left", "group_right"]);
/** Keywords that stand alone: binary operators by name, `bool`, `offset`, the `@` modifiers. */
const KEYWORDS = new Set(["and", "or", "unless", "atan2", "bool", "offset", "start", "end"]);

const TOKEN =
  /\s+|#[^\n]*|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`|\[[^\]]*\]|\$\{[^}]*\}|\$\w+|[A-Za-z_:][A-Za-z0-9_:]*|\d[\w.]*|\.\d[\w.]*|=~|!~|!=|==|>=|<=|[-+*/%^(){},=<>@]/y;

function tokens(expr: string): string[] {
  const found: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < expr.length) {
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(expr);
    if (match === null) throw new Error(`PromQL: cannot read ${JSON.stringify(expr.slice(at, at + 20))} in ${expr}`);
    if (!/^(\s|#)/.test(match[0])) found.push(match[0]);
  }
  return found;
}

const isIdentifier = (token: string | undefined) => token !== undefined && /^[A-Za-z_:][A-Za-z0-9_:]*$/.test(token);

/** The identifiers between the `(` at `open` and its `)`, and the index of that `)`. */
function identifiersUntilClose(list: string[], open: number, closing: string): { names: string[]; end: number } {
  const names: string[] = [];
  let index = open + 1;
  for (; index < list.length && list[index] !== closing; index++) if (isIdentifier(list[index])) names.push(list[index]!);
  if (index === list.length) throw new Error(`PromQL: no ${closing} after ${list.slice(0, open + 1).join(" ")}`);
  return { names, end: index };
}

export function promqlNames(expr: string): PromqlNames {
  const list = tokens(expr);
  const selectors: Selector[] = [];
  const grouping: string[] = [];
  for (let index = 0; index < list.length; index++) {
    const token = list[index]!;
    const next = list[index + 1];
    if (token === "{") throw new Error(`PromQL: a selector without a metric name in ${expr}`);
    if (!isIdentifier(token)) continue;
    if (GROUPING.has(token)) {
      if (next === "(") {
        const { names, end } = identifiersUntilClose(list, index + 1, ")");
        grouping.push(...names);
        index = end;
      }
      continue;
    }
    if (KEYWORDS.has(token)) continue;
    // `sum by (pod) (...)`: the grouping comes between the aggregation and its parenthesis.
    if (AGGREGATION.has(token) && (next === "by" || next === "without")) continue;
    if (next === "(") {
      if (!CALLABLE.has(token)) throw new Error(`PromQL: ${token} is not a PromQL function or aggregation, in ${expr}`);
      continue;
    }
    const selector: Selector = { metric: token, labels: [] };
    if (next === "{") {
      // In a matcher list every identifier is a label name: the values are strings.
      const { names, end } = identifiersUntilClose(list, index + 1, "}");
      selector.labels = names;
      index = end;
    }
    selectors.push(selector);
  }
  return { selectors, grouping };
}

/** The metric and label of Grafana's `label_values(metric, label)` variable query. */
export function labelValuesQuery(query: string): { metric: string; label: string } {
  const match = /^label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$/.exec(query.trim());
  if (match === null) throw new Error(`not a label_values(metric, label) query: ${query}`);
  return { metric: match[1]!, label: match[2]! };
}
