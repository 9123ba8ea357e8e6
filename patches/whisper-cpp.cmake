# Two small patches to whisper.cpp, applied by its own CMake before anything is compiled:
# cargo sets CMAKE_PROJECT_INCLUDE to this file (.cargo/config.toml) and whisper-rs-sys
# passes CMAKE_* variables on. It edits whisper-rs-sys's private copy of the sources (in
# its OUT_DIR), never the crate in the registry. Measured in BENCHMARKS.md; transcripts
# are the same byte for byte.
#
# 1. Prompt logits. whisper.cpp computes vocabulary logits for every token of a decoder
#    batch, though the prompt batch (the call's last words, up to 48 tokens, then the
#    start sequence) needs only its last token's: 51 x 51,864 logits per chunk that
#    nothing reads, an eighth of a review's CPU. A batch that asks for the last token's
#    logits alone now computes only those; every other batch is unchanged.
# 2. One thread per decoded token. A single token's decoder pass is ~100 small matrix
#    products; a second thread spends most of it spinning in ggml's barrier between them
#    (a tenth of a review's CPU for 3% of its wall time). The encoder and the prompt keep
#    every thread they are given.
#
# A source that no longer matches stops the build, so a whisper-rs-sys upgrade cannot
# drop a patch unnoticed: check whether upstream changed it, then update or remove this.

set(_src "${CMAKE_SOURCE_DIR}/src/whisper.cpp")
if(NOT EXISTS "${_src}")
  return() # another CMake project that inherited the variable
endif()
file(READ "${_src}" _code)
string(FIND "${_code}" "twoears: last token's logits" _done)
if(NOT _done EQUAL -1)
  return() # patched already (this file is included at every project() call)
endif()

set(_logits_old "    struct ggml_tensor * logits = ggml_mul_mat(ctx0, model.d_te, cur);\n")
set(_logits_new "    {   // twoears: last token's logits alone when the batch asks for no other's
        bool last_only = !worst_case && n_tokens > 1;
        for (int i = 0; last_only && i + 1 < n_tokens; ++i) {
            last_only = batch.logits[i] == 0;
        }
        if (last_only) {
            cur = ggml_view_2d(ctx0, cur, cur->ne[0], 1, cur->nb[1], (cur->ne[1] - 1)*cur->nb[1]);
        }
    }
${_logits_old}")
set(_copy_old "ggml_backend_tensor_get(logits, logits_out.data() + (n_vocab*i), sizeof(float)*(n_vocab*i), sizeof(float)*n_vocab);")
set(_copy_new "ggml_backend_tensor_get(logits, logits_out.data() + (n_vocab*i), sizeof(float)*(n_vocab*(logits->ne[1] == 1 ? 0 : i)), sizeof(float)*n_vocab);")
set(_threads_old "        logits = ggml_graph_node(gf, -1);\n\n        if (!ggml_graph_compute_helper(sched, gf, n_threads)) {")
set(_threads_new "        logits = ggml_graph_node(gf, -1);\n\n        if (!ggml_graph_compute_helper(sched, gf, n_tokens == 1 ? 1 : n_threads)) { // twoears")

foreach(_part logits copy threads)
  string(FIND "${_code}" "${_${_part}_old}" _at)
  if(_at EQUAL -1)
    message(FATAL_ERROR "patches/whisper-cpp.cmake: whisper.cpp no longer has the code "
      "this patch changes (${_part}); see the file's header")
  endif()
  string(REPLACE "${_${_part}_old}" "${_${_part}_new}" _code "${_code}")
endforeach()
file(WRITE "${_src}" "${_code}")
message(STATUS "twoears: whisper.cpp patched (prompt logits, one thread per decoded token)")
