/**
 * The report's style sheet (inline in the page: no external file or font). System
 * fonts only; the drawings bring their own scoped rules.
 *
 * @module
 */

/** The CSS of `report FILE.html`. */
export const REPORT_CSS = [
  "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#212121}",
  "header{background:#263238;color:#fff;padding:14px 24px}header h1{font-size:20px;margin:0 0 6px}",
  "nav a{color:#b3e5fc;text-decoration:none}main{padding:8px 24px 32px}",
  "section{margin:28px 0;border-top:1px solid #e0e0e0}h2{font-size:17px;margin:14px 0 8px}",
  "pre,code{font:12.5px/1.4 ui-monospace,Menlo,Consolas,monospace}",
  "pre{background:#f5f7f8;padding:8px 10px;overflow-x:auto;margin:4px 0 10px}",
  "figure{margin:8px 0 14px;overflow:auto;max-height:900px;border:1px solid #eceff1}",
  // Each drawing shrinks to its column (never grows); its inline min-width (report.ts)
  // keeps the text readable, and past that the figure scrolls.
  "figure svg{display:block;max-width:100%;height:auto}",
  "figcaption{font-size:13px;color:#616161;padding:4px 8px}",
  "table{border-collapse:collapse;margin:6px 0;font-size:13px}",
  "th,td{border:1px solid #e0e0e0;padding:3px 8px;text-align:left;vertical-align:top}",
  "th{background:#eceff1}td pre{margin:0;padding:0;background:none;white-space:pre-wrap;" +
  "overflow-wrap:anywhere}",
  "table.events{width:100%;table-layout:auto}",
  "table.events td:nth-child(2),table.events td:nth-child(3){white-space:nowrap}",
  "li.cmd pre{white-space:pre-wrap;overflow-wrap:anywhere}",
  ".panic{color:#b71c1c;font-weight:bold}.summary{font-weight:bold}",
  "ol.transcript{padding-left:3.2em}li.cmd{margin:6px 0}li.cmd .line{font-weight:bold}",
  ".on{display:block;color:#37474f;font-size:12px;font-weight:bold;margin-top:10px}",
  ".where{color:#757575;font-size:12px}.mark{font-weight:bold;margin-left:6px}",
  "li.pass .mark{color:#2e7d32}li.fail .mark,li.error .mark{color:#c62828}",
  "li.fail pre,li.error pre{border-left:3px solid #c62828}li.expected-error .mark{color:#757575}",
  "footer{color:#757575;font-size:12px;padding:12px 24px}",
].join("\n");
