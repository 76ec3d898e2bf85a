#!/bin/sh
# CMAKE_ARGS for building llama-cpp-python on this machine, for this machine.
#
# A native build (the default) uses every instruction the CPU reports. Some VMs report
# AMX but fault on its first instruction (ldtilecfg in ggml_backend_amx_mul_mat): every
# generation then segfaults. So when the CPU reports AMX, a tiny program tries it; if
# that faults, llama.cpp is built without AMX, with the CPU's AVX-512 extensions named
# one by one instead. deploy/offline builds for any AVX2 CPU (-DGGML_NATIVE=OFF).
set -u

flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
has() { case " $flags " in *" $1 "*) return 0 ;; esac; return 1; }

has amx_tile || exit 0 # no AMX: the native build

probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT
cat >"$probe_dir/amx.c" <<'C'
#include <immintrin.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    unsigned char config[64];
    if (syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XTILEDATA */))
        return 1;
    memset(config, 0, sizeof config);
    config[0] = 1;                                 /* palette 1 */
    config[16] = 64; config[48] = 16;              /* tile 0: 16 rows of 64 bytes */
    _tile_loadconfig(config);
    _tile_zero(0);
    _tile_release();
    return 0;
}
C
if cc -O1 -mamx-tile -o "$probe_dir/amx" "$probe_dir/amx.c" 2>/dev/null &&
    "$probe_dir/amx" 2>/dev/null; then
    exit 0 # AMX works: the native build
fi

args="-DGGML_NATIVE=OFF"
has avx512f && has avx512bw && has avx512dq && has avx512vl && args="$args -DGGML_AVX512=ON"
has avx512_vnni && args="$args -DGGML_AVX512_VNNI=ON"
has avx512vbmi && args="$args -DGGML_AVX512_VBMI=ON"
has avx512_bf16 && args="$args -DGGML_AVX512_BF16=ON"
has avx_vnni && args="$args -DGGML_AVX_VNNI=ON"
echo "$args"
