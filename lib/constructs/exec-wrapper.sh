#!/bin/sh
# Lambda's exec wrapper (AWS_LAMBDA_EXEC_WRAPPER): the runtime's bootstrap runs it with the command it would run,
# `node <its flags> <the runtime's entry file>`. Those flags include the heap sizes it derives from the memory size
# (--max-semi-space-size, --max-old-space-size); flags on the command line win over NODE_OPTIONS and V8 keeps the
# last of a flag given twice, so the function's own (EXEC_WRAPPER_NODE_FLAGS, split on spaces) go just before the
# entry file.
left=$#
for arg; do
  shift
  left=$((left - 1))
  if [ "$left" -eq 0 ]; then
    # shellcheck disable=SC2086 # split on purpose: one flag per word
    set -- "$@" $EXEC_WRAPPER_NODE_FLAGS
  fi
  set -- "$@" "$arg"
done
exec "$@"
