# bench_stream.sh: write + read of float32 activation-like records through
# the stream layer (target >= 200 MB/s each way at the default level).
"$TOP/build/bench/stream-bench" 512 "${TMPDIR:-/tmp}"
