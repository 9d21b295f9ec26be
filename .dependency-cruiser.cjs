/**
 * keygate's layers, enforced in `npm test` (docs/architecture.md tells the story).
 *
 * LAYERS lists the folders under src/ from the ground up. A file may import its own folder and
 * folders earlier in the list, never a later one; the composition roots (src/app.ts, src/main.ts)
 * sit above every folder. With one total order there can be no cycle between folders; the
 * no-circular rule also forbids cycles between files inside a folder.
 */
const LAYERS = [
  // Foundations: vocabulary and small utilities, no I/O of keygate's own.
  "text", "trace", "log", "time", "net", "model", "rpc", "crypto",
  // Configuration, then storage behind small interfaces.
  "config", "store",
  // Capabilities, each using only those before it.
  "metrics", "abuse", "keys", "audit", "tenancy", "limits", "cache", "usage", "webhooks", "leaks", "authz", "admin",
  // Serving: listeners and the console's HTTP handler.
  "server", "console",
  // The CLI, a client of the admin API and of the store.
  "cli",
];

const ROOT_FILES = "^src/(app|main)\\.ts$";

const upward = LAYERS.map((folder, index) => ({
  name: `no-upward-from-${folder}`,
  comment: `src/${folder}/ may import only ${LAYERS.slice(0, index).join(", ") || "nothing else under src/"} (docs/architecture.md)`,
  severity: "error",
  from: { path: `^src/${folder}/` },
  to: { path: [...LAYERS.slice(index + 1).map((later) => `^src/${later}/`), ROOT_FILES] },
}));

module.exports = {
  forbidden: [
    ...upward,
    {
      name: "unlayered-folder",
      comment: "Every folder under src/ has a place in LAYERS (.dependency-cruiser.cjs) and in docs/architecture.md",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^src/[^/]+/", pathNot: `^src/(${LAYERS.join("|")})/` },
    },
    {
      name: "only-the-roots-at-the-top",
      comment: "A file directly under src/ other than app.ts and main.ts has no layer: put it in a folder",
      severity: "error",
      from: { path: "^src/[^/]+\\.ts$", pathNot: ROOT_FILES },
      to: {},
    },
    {
      name: "no-circular",
      comment: "No import cycle between files: a reader must be able to read each file after the ones it uses",
      severity: "error",
      from: { path: "^(src|web/src)/" },
      to: { circular: true },
    },
    {
      name: "src-not-to-tests",
      comment: "Production code never imports tests, benchmarks or the console's browser code",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(test|bench|web)/" },
    },
    {
      name: "console-browser-code-uses-only-vocabulary",
      comment:
        "The console's browser code may share only vocabulary with the server: src/model/ and src/time/ (and gen/); " +
        "its bundle build (test/console) fails if what it imports reaches Node",
      severity: "error",
      from: { path: "^web/" },
      to: { path: "^src/", pathNot: "^src/(model|time)/" },
    },
    {
      name: "not-to-unresolvable",
      comment: "An import that does not resolve is a typo or a missing dependency",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // Type-only imports count: a type from a higher layer is still a dependency on it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      extensions: [".ts", ".js"],
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
    },
  },
};
