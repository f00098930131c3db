// gen_bpe_golden.js: golden token ids from the peer implementation, the npm
// package gpt-3-encoder 1.1.4 (OpenAI's encoder.py ported to JavaScript).
//
//   node gen_bpe_golden.js NODE_MODULES_DIR VOCAB MERGES STORIES OUTDIR
//
// Writes to OUTDIR (all plain text / binary; gen_bpe_golden.sh compresses):
//   mirror-study.ids     one line per story: "INDEX<TAB>ids..." with the
//                        study's joining (every newline -> one space)
//   mirror-newlines.ids  the same, story text kept verbatim (newlines kept)
//   hostile.bin          the hostile cases: repeated {u32 LE name length,
//                        name, u32 LE byte length, raw bytes}
//   hostile.ids          one line per case: "NAME<TAB>ids..."
//   quirks.tsv           cases where gpt-3-encoder's string-keyed merge table
//                        ("a,b" keys collide) departs from the GPT-2 BPE
//                        (tuple keys); the goldens hold the GPT-2 ids.
//
// Raw bytes reach the encoder through new TextDecoder('utf-8') (WHATWG:
// each maximal ill-formed subsequence becomes U+FFFD), which is what any
// JavaScript (or Python errors='replace') caller gets from invalid UTF-8.
'use strict';
const fs = require('fs');
const path = require('path');

const [modDir, vocabPath, mergesPath, storiesPath, outDir] = process.argv.slice(2);
if (!outDir) { console.error('usage: node gen_bpe_golden.js NODE_MODULES VOCAB MERGES STORIES OUTDIR'); process.exit(2); }
const pkgDir = path.join(modDir, 'gpt-3-encoder');
const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
if (pkg.version !== '1.1.4') throw new Error('need gpt-3-encoder 1.1.4, found ' + pkg.version);

// The peer's tables must be our tokenizer's files.
const ourVocab = JSON.parse(fs.readFileSync(vocabPath, 'utf8'));
const peerVocab = JSON.parse(fs.readFileSync(path.join(pkgDir, 'encoder.json'), 'utf8'));
const vk = Object.keys(ourVocab);
if (vk.length !== Object.keys(peerVocab).length || vk.some(k => peerVocab[k] !== ourVocab[k]))
  throw new Error('encoder.json differs from ' + vocabPath);
const mergeLines = f => fs.readFileSync(f, 'utf8').split('\n').slice(1).filter(l => l.length);
const om = mergeLines(mergesPath), pm = mergeLines(path.join(pkgDir, 'vocab.bpe'));
if (om.length !== pm.length || om.some((l, i) => l !== pm[i])) throw new Error('vocab.bpe differs from ' + mergesPath);

// Two instances of the peer: as published, and with arrays stringified with
// a separator no token contains, i.e. a merge table keyed by the pair itself.
const peer = require(pkgDir);
const origToString = Array.prototype.toString;
const tupleToString = function () { return this.join('\u0001'); };
for (const k of Object.keys(require.cache)) if (k.startsWith(path.resolve(pkgDir))) delete require.cache[k];
Array.prototype.toString = tupleToString;
const fixed = require(pkgDir);
Array.prototype.toString = origToString;

const quirks = [];
function encode(name, text) {
  const a = peer.encode(text);
  Array.prototype.toString = tupleToString;
  let b;
  try { b = fixed.encode(text); } finally { Array.prototype.toString = origToString; }
  if (a.some(x => x === undefined) || b.some(x => x === undefined)) throw new Error(name + ': undefined id');
  if (a.join(' ') !== b.join(' ')) quirks.push(`${name}\t${a.join(' ')}\t${b.join(' ')}`);
  return b;
}

// --- mirror stories ---------------------------------------------------------
// Stories end with a line "<|endoftext|>"; the study (data_handling.py) read
// lines with Python and did lines += line.replace('\n', ' ').  Text after the
// last separator is ignored there; the mirror file ends with a separator.
const raw = fs.readFileSync(storiesPath, 'utf8');
const lines = raw.split(/(?<=\n)/);
let study = '', verbatim = '', idx = 0;
const outStudy = [], outNl = [];
for (const line of lines) {
  if (line === '<|endoftext|>\n') {
    outStudy.push(idx + '\t' + encode('study' + idx, study).join(' '));
    outNl.push(idx + '\t' + encode('newlines' + idx, verbatim).join(' '));
    study = ''; verbatim = ''; idx++;
    continue;
  }
  study += line.replace('\n', ' ');
  verbatim += line;
}
fs.writeFileSync(path.join(outDir, 'mirror-study.ids'), outStudy.join('\n') + '\n');
fs.writeFileSync(path.join(outDir, 'mirror-newlines.ids'), outNl.join('\n') + '\n');

// --- hostile cases -----------------------------------------------------------
const cases = [];
const add = (name, s) => cases.push([name, Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8')]);
const bytes = (...parts) => Buffer.concat(parts.map(p => typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p)));

add('once', 'Once upon a time');
add('empty', '');
add('latin', 'Café naïve façade Über straße ÆØÅ æøå Łódź Ångström œuvre');
add('greek', 'Καλημέρα κόσμε, ΑΒΓ αβγ ς');
add('cyrillic', 'Привет, мир! Съешь же ещё этих мягких французских булок.');
add('arabic', 'مرحبا بالعالم ١٢٣ ۴۵۶');
add('hebrew', 'שלום עולם, עִבְרִית');
add('devanagari', 'नमस्ते दुनिया १२३ क्षत्रिय');
add('thai', 'สวัสดีชาวโลก ๑๒๓ ก่ ก้');
add('cjk', '你好，世界。日本語のテキスト、カタカナ。한국어 안녕하세요 세계');
add('misc-scripts', 'გამარჯობა Բարեւ ሰላም வணக்கம் ၁၂၃ ᠮᠣᠩᠭᠣᠯ ᐃᓄᒃᑎᑐᑦ');
add('digits-scripts', '٠١٢٣٤٥٦٧٨٩ ०१२३ ০১২৩ ๐๑๒๓ ０１２３ ①②③ Ⅻ ½ ²³ 𝟙𝟚𝟛');
add('emoji', '👍🏽 👨‍👩‍👧‍👦 🇩🇰 ❤️ 🙂🙂🙂 text😀text 😀, 🐶!');
add('combining', 'e\u0301 a\u0308\u0323 Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇ ก่ \u0301start');
add('crlf', 'line one\r\nline two\r\n\r\nthree\rfour\n\n\nfive\r\n');
add('tabs', '\tindented\t\ttabs\t \t mixed \t\n\t');
for (const n of [1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 32, 33, 64, 100, 1000])
  add('spaces-inside-' + n, 'a' + ' '.repeat(n) + 'b');
add('spaces-before', '   word  word\n   word');
add('spaces-after', 'word     ');
add('spaces-only', '     ');
add('space-newline-mix', '  \n  \n \t\n\u00a0 x \n');
add('unicode-spaces', '\u00a0nbsp\u2003em\u3000ideo\u2028ls\u2029ps\ufeffbom\u0085nel\u180emvs\u200bzwsp\u202fnnbsp \u00a0 \u00a0');
// Every space-like character next to punctuation and newlines: whether it
// counts as \s decides the pieces ("X!" is one piece only if X is not \s).
const spaceLike = ['\u000b', '\u000c', '\u0085', '\u00a0', '\u1680', '\u180e', '\u2000', '\u2007', '\u200a',
  '\u200b', '\u2028', '\u2029', '\u202f', '\u205f', '\u2060', '\u3000', '\ufeff'];
add('space-like-probe', spaceLike.map(x => `a${x}!${x}\n${x}${x}b ${x}.`).join(' '));
add('categories', 'ª ǅ ʰ ˆ Ⅻ ² 〇 ¼ ๛ ۝ ‿ ⁀ ̃ ៖ ꙰ 〆 々 ー ㆒ 𝔸 𝟘 𐌰 𑁒');
add('contractions-lower', "I'm you're he's she'd we'll they've can't it's o'clock 'tis rock'n'roll");
add('contractions-upper', "I'M YOU'RE HE'S SHE'D WE'LL THEY'VE CAN'T IT'S It'S You'Re");
add('quotes', "''s '''' 's 'S \"'s\" ' s '\n's");
let nums = '';
for (let n = 1; n <= 40; n++) nums += '123456789'.repeat(5).slice(0, n) + ' ';
add('numbers-lengths', nums);
add('numbers-forms', '3.14159 1,000,000 -42 +7 1e10 0x1F 007 2nd 4th x2 H2O 10:30 1/2 $5.99 50% #1');
add('digits-long', '9'.repeat(300));
add('letters-long', 'a'.repeat(3000));
add('punctuation', '"Hello," she said. "Wait..." -- (ok) [x] {y} ?!?! ... ,,, ;;; !!! --- ___ *** ~~~ @@ ## `code` <tag> a/b\\c');
add('quirk-candidates', '"],"a "," ",", \'\',\' \'\',\'\' },"k": ]," ),"b ."," .,"x Ġ,"');
add('json-like', '{"a": [1, 2], "b": {"c": "d"}, "e": ["f", "g"]}');
add('controls', 'a\u0000b \u0001\u0007\u001b[0m\u007f\u0080\u009f end');
add('private-noncharacters', '\ue000\uf8ff \u{10FFFF} \ufdd0 \u0378 \u{E0001}');
add('endoftext-literal', 'story one<|endoftext|>story two <|endoftext|>');
add('url-email', 'https://example.com/a?b=c&d=e mail@example.org');
add('invalid-lone', bytes('abc', [0x80], 'def ', [0xff], ' ', [0xfe], 'x'));
add('invalid-truncated', bytes('euro ', [0xe2, 0x82], ' done'));
add('invalid-overlong', bytes('slash ', [0xc0, 0xaf], ' nul ', [0xc0, 0x80], ' e0 ', [0xe0, 0x80, 0xaf]));
add('invalid-surrogate', bytes('sur ', [0xed, 0xa0, 0x80], ' pair ', [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80]));
add('invalid-too-big', bytes('big ', [0xf4, 0x90, 0x80, 0x80], ' f5 ', [0xf5, 0x80, 0x80, 0x80]));
add('invalid-latin1', bytes('caf', [0xe9], ' na', [0xef], 've ', [0xc5], 'ngstr', [0xf6], 'm'));
add('invalid-continuations', bytes([0x80, 0x80, 0x80], ' ', [0xbf], 'x', [0xc2], [0xc2, 0xa9]));
add('invalid-at-end', bytes('end ', [0xf0, 0x9f, 0x98]));
add('invalid-in-word', bytes('hel', [0xc3], 'lo wor', [0xe2, 0x28, 0xa1], 'ld'));

// A 1 MB story, deterministic: words from a fixed list drawn by xorshift32.
const words = ['Once', 'upon', 'a', 'time', 'there', 'was', 'little', 'girl', 'named', 'Lily', 'she',
  'loved', 'to', 'play', 'with', 'her', 'dog', 'Max', 'in', 'the', 'park', 'One', 'day', 'they', 'saw',
  'big', 'red', 'ball', 'He', 'said', '"Let\'s', 'go!"', 'happy', 'because', 'it', 'sunny', 'and',
  'warm.', 'didn\'t', 'know', 'what', 'do,', 'so', 'asked', 'mom.', '123', '2nd', 'café', 'naïve', '🙂'];
let state = 2463534242;
const next = () => { state ^= state << 13; state >>>= 0; state ^= state >>> 17; state ^= state << 5; state >>>= 0; return state; };
const parts = [];
let size = 0;
while (size < 1 << 20) {
  const r = next();
  let w = words[r % words.length];
  const sep = (r >>> 8) % 40 === 0 ? '\n' : (r >>> 8) % 97 === 1 ? '  ' : ' ';
  parts.push(w + sep);
  size += Buffer.byteLength(w + sep);
}
add('story-1mb', parts.join(''));

const dec = new TextDecoder('utf-8');
const bin = [], ids = [];
for (const [name, buf] of cases) {
  const nm = Buffer.from(name, 'utf8');
  const h1 = Buffer.alloc(4); h1.writeUInt32LE(nm.length);
  const h2 = Buffer.alloc(4); h2.writeUInt32LE(buf.length);
  bin.push(h1, nm, h2, buf);
  ids.push(name + '\t' + encode(name, dec.decode(buf)).join(' '));
}
fs.writeFileSync(path.join(outDir, 'hostile.bin'), Buffer.concat(bin));
fs.writeFileSync(path.join(outDir, 'hostile.ids'), ids.join('\n') + '\n');
fs.writeFileSync(path.join(outDir, 'quirks.tsv'), quirks.map(q => q + '\n').join(''));
console.error(`stories ${idx}, hostile cases ${cases.length}, quirk cases ${quirks.length}`);
