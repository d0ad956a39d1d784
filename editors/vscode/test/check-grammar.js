// On-demand check of the TextMate grammar with VS Code's own engine (vscode-textmate + Oniguruma).
//
//   cd editors/vscode && npm install && node test/check-grammar.js FILE.kh ... > tokens.json
//
// Prints {"FILE": [[scope, text], ...]} — every token that is not blank, with its innermost scope
// ("source.kaohe" when no pattern matched it). tests/project/test_highlight.py runs it on every
// policy of the repository when node_modules is present (never in CI: CI does not need node) and
// compares the classes with the Pygments lexer's.
"use strict";

const fs = require("fs");
const path = require("path");
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

const wasm = fs.readFileSync(path.join(path.dirname(require.resolve("vscode-oniguruma")), "onig.wasm")).buffer;
const onigLib = oniguruma.loadWASM(wasm).then(() => ({
  createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
  createOnigString: (s) => new oniguruma.OnigString(s),
}));

const registry = new vsctm.Registry({
  onigLib,
  loadGrammar: async (scopeName) => {
    if (scopeName !== "source.kaohe") {
      return null;
    }
    const file = path.join(__dirname, "..", "syntaxes", "kaohe.tmLanguage.json");
    return vsctm.parseRawGrammar(fs.readFileSync(file, "utf8"), file);
  },
});

async function main() {
  const grammar = await registry.loadGrammar("source.kaohe");
  const out = {};
  for (const file of process.argv.slice(2)) {
    const tokens = [];
    let stack = vsctm.INITIAL;
    for (const line of fs.readFileSync(file, "utf8").split("\n")) {
      const text = line.endsWith("\r") ? line.slice(0, -1) : line;
      const result = grammar.tokenizeLine(text, stack);
      for (const token of result.tokens) {
        const value = text.slice(token.startIndex, token.endIndex);
        if (value.trim()) {
          tokens.push([token.scopes[token.scopes.length - 1], value]);
        }
      }
      stack = result.ruleStack;
    }
    out[file] = tokens;
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
