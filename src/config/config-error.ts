/** A setting keygate cannot start with; the message names the variable (main.ts exits 2 on it). */
export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.name = "ConfigError";
  }
}
