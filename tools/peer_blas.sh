# Sourced by the benchmark scripts: runs the peers on a tuned OpenBLAS, as a careful user would. Debian's OpenBLAS 0.3.21
# does not recognise every core (Intel's Emerald Rapids, AMD's Zen 5) and falls back to slower kernels; where numpy's
# 1024³ float32 product on one thread is below half of bench's FMA peak, the coretype of this core's widest vectors
# (SkylakeX with AVX-512, Haswell with AVX2) is tried and exported as OPENBLAS_CORETYPE if it is faster. The figures
# and the setting go to OUT/peer_blas.txt, which the tables print.
#   peer_blas "BACKPROP_COMMAND" OUT
peer_blas() {
  local bp=$1 out=$2 root peak untuned tuned ct
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  peak=$($bp bench --ops fc --shapes 1024,1024,1024 --threads 1 --dtype float32 --json \
    | python3 -c 'import json, sys; print(round(json.load(sys.stdin)[0]["peak_gflops"], 1))')
  untuned=$(OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$root/tools/numpy_gemm.py")
  if python3 -c "import sys; sys.exit(0 if $untuned < $peak / 2 else 1)"; then
    if grep -q avx512f /proc/cpuinfo; then ct=SkylakeX; else ct=Haswell; fi
    tuned=$(OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=$ct /usr/bin/python3 "$root/tools/numpy_gemm.py")
    if python3 -c "import sys; sys.exit(0 if $tuned > $untuned else 1)"; then
      export OPENBLAS_CORETYPE=$ct
      echo "peers' OpenBLAS: numpy 1024³ float32 on 1 thread ran at $untuned GFLOP/s as detected, below half of bench's FMA" \
        "peak ($peak); OPENBLAS_CORETYPE=$ct gave $tuned, and the peers ran with it" > "$out/peer_blas.txt"
      return
    fi
    echo "peers' OpenBLAS: numpy 1024³ float32 on 1 thread $untuned GFLOP/s as detected (FMA peak $peak); $ct gave" \
      "$tuned, no better: the peers ran as detected" > "$out/peer_blas.txt"
    return
  fi
  echo "peers' OpenBLAS: numpy 1024³ float32 on 1 thread $untuned GFLOP/s as detected, at least half of bench's FMA peak" \
    "($peak): the peers ran as detected" > "$out/peer_blas.txt"
}
