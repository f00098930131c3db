// gen_bpe_suites.js: the published test suites of two GPT-2 tokenizers as
// goldens for `tokenize`, with the expected ids computed here by the peer
// implementation (the npm package gpt-3-encoder 1.1.4), never typed in.
//
//   node gen_bpe_suites.js NODE_MODULES_DIR VOCAB MERGES OUT.tsv
//
// The inputs are the test strings of
//   - GPT-3-Encoder's Encoder.test.js / encoder.test.js (github.com/
//     latitudegames/GPT-3-Encoder): empty string, space, tab, simple text,
//     multi-token word, emojis, properties of Object, text with commas;
//   - tiktoken's tests/test_encoding.py (github.com/openai/tiktoken):
//     test_simple, test_simple_repeated, test_large_repeated, test_simple_regex,
//     test_basic_encode, test_encode_empty, test_encode_bytes (the short byte
//     strings: a longer run of invalid bytes is binary to tokenize),
//     test_encode_surrogate_pairs, test_catastrophically_repetitive,
//     test_basic_roundtrip, test_batch_encode.  tiktoken's own expected ids
//     are for its encodings (gpt2 = r50k_base is ours, cl100k is not); here
//     every string is encoded with GPT-2's tables by the peer.
//   - the whitespace-only texts (" ", 10,000 newlines).
//
// Output, one case per line (text = prefix + unit * count + suffix, bytes in
// hex so any byte survives, '-' for none):
//   NAME <TAB> PREFIX_HEX <TAB> UNIT_HEX <TAB> COUNT <TAB> SUFFIX_HEX <TAB> ORACLE <TAB> IDS
// ORACLE is gpt-3-encoder, or encoder.py for texts over 50,000 bytes: the
// peer's merge loop is quadratic (Array.concat per symbol; "x" * 1,000,000
// would take days), so their ids are left "-" here and filled in by
// gen_bpe_suites_fill.py with encoder.py's algorithm (check_bpe_python.py),
// whose pre-tokeniser agrees with the peer's on ASCII.
// Raw bytes reach the peer through TextDecoder('utf-8'), as in
// gen_bpe_golden.js.  The merge table is keyed by pairs (see quirks.tsv
// there); a case where the published package differs is reported and stops
// the script.
'use strict';
const fs = require('fs');
const path = require('path');

const [modDir, vocabPath, mergesPath, outPath] = process.argv.slice(2);
if (!outPath) { console.error('usage: node gen_bpe_suites.js NODE_MODULES VOCAB MERGES OUT.tsv'); process.exit(2); }
const pkgDir = path.join(modDir, 'gpt-3-encoder');
const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
if (pkg.version !== '1.1.4') throw new Error('need gpt-3-encoder 1.1.4, found ' + pkg.version);
const ourVocab = JSON.parse(fs.readFileSync(vocabPath, 'utf8'));
const peerVocab = JSON.parse(fs.readFileSync(path.join(pkgDir, 'encoder.json'), 'utf8'));
const vk = Object.keys(ourVocab);
if (vk.length !== Object.keys(peerVocab).length || vk.some(k => peerVocab[k] !== ourVocab[k]))
  throw new Error('encoder.json differs from ' + vocabPath);
const mergeLines = f => fs.readFileSync(f, 'utf8').split('\n').slice(1).filter(l => l.length);
const om = mergeLines(mergesPath), pm = mergeLines(path.join(pkgDir, 'vocab.bpe'));
if (om.length !== pm.length || om.some((l, i) => l !== pm[i])) throw new Error('vocab.bpe differs from ' + mergesPath);

// As published, and with pairs as keys (Array.prototype.toString joined with
// a separator no token holds): see gen_bpe_golden.js.
const peer = require(pkgDir);
const origToString = Array.prototype.toString;
const tupleToString = function () { return this.join('\u0001'); };
for (const k of Object.keys(require.cache)) if (k.startsWith(path.resolve(pkgDir))) delete require.cache[k];
Array.prototype.toString = tupleToString;
const fixed = require(pkgDir);
Array.prototype.toString = origToString;

const dec = new TextDecoder('utf-8');
const hex = b => Buffer.from(b).toString('hex') || '-';  // '-': empty (no empty TSV fields)
const bytes = s => (Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8'));
const out = [];
function add(name, prefix, unit = '', count = 0, suffix = '') {
  const p = bytes(prefix), u = bytes(unit), s = bytes(suffix);
  const text = dec.decode(Buffer.concat([p, Buffer.alloc(u.length * count).fill(u.length ? u : 0), s]));
  if (p.length + u.length * count + s.length > 50000) {
    out.push([name, hex(p), hex(u), count, hex(s), 'encoder.py', '-'].join('\t'));
    return;
  }
  const a = peer.encode(text);
  Array.prototype.toString = tupleToString;
  let b;
  try { b = fixed.encode(text); } finally { Array.prototype.toString = origToString; }
  if (a.some(x => x === undefined) || b.some(x => x === undefined)) throw new Error(name + ': undefined id');
  if (a.join(' ') !== b.join(' ')) throw new Error(name + ': the published package differs from pair keys');
  out.push([name, hex(p), hex(u), count, hex(s), 'gpt-3-encoder', b.join(' ') || '-'].join('\t'));
}

// GPT-3-Encoder
add('g3e-empty-string', '');
add('g3e-space', ' ');
add('g3e-tab', '\t');
add('g3e-simple-text', 'This is some text');
add('g3e-multi-token-word', 'indivisible');
add('g3e-emojis', 'hello 👋 world 🌍');
add('g3e-properties-of-object', 'toString constructor hasOwnProperty valueOf');
add('g3e-text-with-commas', 'hello, I am a text, and I have commas. a,b,c');

// tiktoken tests/test_encoding.py
add('tt-simple', 'hello world');
add('tt-simple-endoftext-ordinary', 'hello <|endoftext|>');
for (let n = 1; n <= 17; n++) add('tt-simple-repeated-' + n, '', '0', n);
add('tt-large-repeated', '', 'x', 1000000);
add('tt-regex-rer', 'rer');
add('tt-regex-quote-rer', "'rer");
add('tt-regex-today-nl-space', 'today\n ');
add('tt-regex-today-nl-space-nl', 'today\n \n');
add('tt-regex-today-nl-2space-nl', 'today\n  \n');
add('tt-basic-nel-zero', ' \u00850');
add('tt-encode-empty', '');
add('tt-encode-bytes', Buffer.from([0x20, 0xec, 0x8b, 0xa4, 0xed]));
add('tt-encode-bytes-80x1', Buffer.from([0x80]));
add('tt-encode-bytes-80x2', Buffer.from([0x80, 0x80]));
add('tt-surrogate-pair', '👍');
const reps = [['caret', '^'], ['zero', '0'], ['a', 'a'], ['quote-s', "'s"], ['space', ' '], ['newline', '\n']];
for (const [nm, c] of reps) {
  add('tt-catastrophic-' + nm, '', c, 10000);
  add('tt-catastrophic-space-' + nm, ' ', c, 10000);
  add('tt-catastrophic-space-' + nm + '-nl', ' ', c, 10000, '\n');
}
['hello', 'hello ', 'hello  ', ' hello', ' hello ', ' hello  ', 'hello world', '请考试我的软件！12345'].forEach(
  (v, i) => add('tt-roundtrip-' + i, v));
add('tt-batch-goodbye', 'goodbye world');

// whitespace-only texts (issue: "Text that is only whitespace")
add('ws-one-space', ' ');
add('ws-10000-newlines', '', '\n', 10000);
add('ws-space-newline', ' \n');
add('ws-crlf', '', '\r\n', 100);
add('ws-tabs', '', '\t', 300);

fs.writeFileSync(outPath, out.join('\n') + '\n');
console.error(`${outPath}: ${out.length} cases`);
