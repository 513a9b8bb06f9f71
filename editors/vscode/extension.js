// Starts `policyd lsp` (setting policyd.command) for .policy files; everything else is the server's.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const [command, ...args] = vscode.workspace.getConfiguration("policyd").get("command", ["policyd", "lsp"]);
  const server = { command, args };
  client = new LanguageClient(
    "policyd",
    "policyd",
    { run: server, debug: server },
    { documentSelector: [{ scheme: "file", language: "policyd" }] }
  );
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
