#!/usr/bin/env bash
# ThreadSanitizer run of the threaded tests: builds the extension with -fsanitize=thread in its own build folder
# (build/tsan; the in-place module python/relutope/_core*.so is left alone), copies the Python package next to it
# (build/tsan/pkg/relutope) and runs the tests that start worker threads (the LP and polytope paths' enumeration,
# the facets, adjacency and volume loops) with the TSan runtime preloaded into the interpreter, which is not
# itself instrumented. Any data race TSan sees in the core is printed as a "WARNING: ThreadSanitizer" report and
# makes this script fail (exit status 66), as does a failing test.
#
#   scripts/tsan.sh                    # build, then tests/test_threads.py and the facets/volumes thread tests
#   scripts/tsan.sh tests/test_threads.py -k polytope   # other pytest arguments instead of the default set
#
# Environment: PYTHON (default: python; needs pybind11, numpy, pytest), TSAN_BUILD (default: build/tsan).
# Takes a few minutes on 2 cores: the instrumented core runs 5-15x slower than the Release build.
# (ThreadSanitizer: Serebryany & Iskhodzhanov, "ThreadSanitizer: data race detection in practice", WBIA 2009.)
set -euo pipefail
TREE=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${TSAN_BUILD:-$TREE/build/tsan}
PY=${PYTHON:-python}
PYB=$("$PY" -c "import pybind11; print(pybind11.get_cmake_dir())")
GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S "$TREE" -B "$BUILD" "${GEN[@]}" -DSKBUILD_PROJECT_NAME=relutope -DSKBUILD_PROJECT_VERSION=0.1.0 \
    -Dpybind11_DIR="$PYB" -DPython_EXECUTABLE="$(command -v "$PY")" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS="-fsanitize=thread -g -fno-omit-frame-pointer" \
    -DCMAKE_MODULE_LINKER_FLAGS="-fsanitize=thread" -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=thread" >/dev/null
fi
cmake --build "$BUILD" >"$BUILD/last.log" 2>&1 || { cat "$BUILD/last.log"; exit 1; }
rm -rf "$BUILD/pkg"
mkdir -p "$BUILD/pkg"
cp -r "$TREE/python/relutope" "$BUILD/pkg/relutope"
rm -f "$BUILD"/pkg/relutope/_core*.so
cp "$BUILD"/_core*.so "$BUILD/pkg/relutope/"
if [ $# -eq 0 ]; then
  set -- tests/test_threads.py tests/test_volume_kernel.py -k "thread or Thread"
fi
RT=$("${CXX:-g++}" -print-file-name=libtsan.so)
cd "$TREE"
# The reports go to files (pytest captures the tests' stderr): build/tsan/reports/tsan.<pid>, printed at the end.
# setarch -R: this TSan runtime needs the address layout without the randomisation newer kernels default to.
REPORTS="$BUILD/reports"
rm -rf "$REPORTS"
mkdir -p "$REPORTS"
export TSAN_OPTIONS="log_path=$REPORTS/tsan halt_on_error=0 second_deadlock_stack=1 report_signal_unsafe=0 ${TSAN_OPTIONS:-}"
# One BLAS thread: OpenBLAS's own thread pool (numpy's matrix products) is not instrumented and synchronises by
# spinning, which TSan reads as races inside dgemm (a report that is not about this project's code).
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
status=0
PYTHONPATH="$BUILD/pkg" LD_PRELOAD="$RT" setarch "$(uname -m)" -R \
  "$PY" -m pytest -q -p no:cacheprovider "$@" || status=$?
if compgen -G "$REPORTS/tsan.*" >/dev/null; then
  cat "$REPORTS"/tsan.*
  echo "ThreadSanitizer: $(grep -c '^WARNING: ThreadSanitizer' "$REPORTS"/tsan.* | awk -F: '{s += $NF} END {print s}') report(s), in $REPORTS"
  [ "$status" -ne 0 ] || status=66
else
  echo "ThreadSanitizer: no reports"
fi
exit "$status"
