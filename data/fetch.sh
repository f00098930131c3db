#!/usr/bin/env bash
# fetch.sh REL OUT: put the pinned input REL (a path listed in
# data/sources.tsv) at OUT, from $MIRROR/REL when MIRROR is set, otherwise
# from its upstream URL; verify its sha256; leave nothing at OUT on failure.
set -euo pipefail
rel=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
line=$(awk -F'\t' -v r="$rel" '$1 == r' "$here/sources.tsv")
if [ -z "$line" ]; then echo "fetch: $rel is not listed in data/sources.tsv" >&2; exit 1; fi
IFS=$'\t' read -r _ sha url how <<<"$line"
mkdir -p "$(dirname "$out")"
tmp=$(mktemp "$out.part.XXXXXX")
trap 'rm -f "$tmp"' EXIT
if [ -n "${MIRROR:-}" ]; then
  if [ ! -f "$MIRROR/$rel" ]; then
    echo "fetch: $rel is not in the mirror $MIRROR (upstream: $url)" >&2; exit 1
  fi
  cp "$MIRROR/$rel" "$tmp"
else
  case "$how" in
    copy)
      if ! curl -fsSL --retry 2 -o "$tmp" "$url" 2>/dev/null; then
        echo "fetch: cannot download $rel from $url; offline? use make MIRROR=DIR with a local copy of the inputs (e.g. MIRROR=../shared/mirror)" >&2; exit 1
      fi ;;
    stories-prefix*)
      n=${how#stories-prefix }
      # The first N stories of a large upstream file: stop reading after N ends.
      if ! { curl -fsSL "$url" 2>/dev/null || true; } | awk -v n="$n" '{print} /^<\|endoftext\|>$/ {if (++c == n) exit}' > "$tmp" || [ ! -s "$tmp" ]; then
        echo "fetch: cannot download $rel from $url; offline? use make MIRROR=DIR with a local copy of the inputs (e.g. MIRROR=../shared/mirror)" >&2; exit 1
      fi ;;
    *) echo "fetch: unknown fetch mode '$how' for $rel" >&2; exit 1 ;;
  esac
fi
got=$(sha256sum "$tmp" | cut -d' ' -f1)
if [ "$got" != "$sha" ]; then
  echo "fetch: $rel: sha256 mismatch (got $got, expected $sha); refusing it" >&2; exit 1
fi
chmod 644 "$tmp"
mv -f "$tmp" "$out"
trap - EXIT
