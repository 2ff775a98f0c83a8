#!/usr/bin/env bash
# The pages' screenshots (docs/page-*.png) now come from scripts/browser-check.sh, which also
# checks the pages in the browser; kept under its old name.
exec "$(dirname "$0")/browser-check.sh" "$@"
