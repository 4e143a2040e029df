/**
 * Renders docs/error-codes.md from the catalogue (error-codes.ts). `npm run docs:error-codes`
 * rewrites the file; test/engine/error-codes.test.ts fails when the committed file differs, so the
 * table cannot drift from the codes the servers can send.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES, ERROR_CODE_NAMES, type ErrorCodeEntry } from './error-codes.js';

export const ERROR_CODES_DOC_PATH = fileURLToPath(new URL('../../docs/error-codes.md', import.meta.url));

const FROM = { api: 'API', backend: 'backend' } as const;

function row(code: string, e: ErrorCodeEntry): string {
  const retryAfter =
    e.retryAfterS === null ? 'none' : e.retryAfterS === 'varies' ? 'varies' : `${e.retryAfterS} s`;
  const cells = [
    `\`${code}\``,
    String(e.status),
    e.retryable ? 'yes' : 'no',
    retryAfter,
    e.from.map((f) => FROM[f]).join(', '),
    e.meaning,
  ];
  return `| ${cells.join(' | ')} |`;
}

export function renderErrorCodesMarkdown(): string {
  return [
    '# Error codes',
    '',
    '<!-- Generated from functions/engine/error-codes.ts by `npm run docs:error-codes`; do not edit. -->',
    '',
    'Every error reply of the public API and of the backends (VM server, Lambda handler) is',
    '`{"error": {"code", "message", "field"?}}` with one of these codes. The OIP (`/v2`) and SageMaker',
    '(`/endpoints/{name}/invocations`) routes send the same status in their own error shape.',
    '**Retry** says whether the same request, sent again later, can succeed; **Retry-After** is the',
    'header sent with it. **From**: API = the public controller API, backend = VM server and Lambda',
    "handler (a backend's 4xx reaches the public client unchanged).",
    '',
    '| Code | Status | Retry | Retry-After | From | Meaning |',
    '| --- | --- | --- | --- | --- | --- |',
    ...ERROR_CODE_NAMES.map((c) => row(c, ERROR_CODES[c])),
    '',
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(ERROR_CODES_DOC_PATH, renderErrorCodesMarkdown());
  console.log(`wrote ${ERROR_CODES_DOC_PATH} (${ERROR_CODE_NAMES.length} codes)`);
}
