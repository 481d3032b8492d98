#!/bin/sh
# The dependency order of lib/README.md, checked: a file may include only its own folder and
# the folders below it. Run by `make test`; prints each include that goes against the order.
#   rules < lib/base < lib/serdes, lib/kafka, lib/pg < lib/model < lib/runtime
#         < notify/render < ingest, assess, notify, cli, devenv, tests, bench
cd "$(dirname "$0")/.." || exit 2

# rank FOLDER: the layer of a source folder (siblings share a rank and do not include each other).
rank() {
    case "$1" in
    rules) echo 0 ;;
    lib/base) echo 1 ;;
    lib/serdes | lib/kafka | lib/pg) echo 2 ;;
    lib/model) echo 3 ;;
    lib/runtime) echo 4 ;;
    notify/render) echo 5 ;;
    *) echo 6 ;;
    esac
}

bad=0
for f in $(git ls-files 'rules/*.[ch]' 'lib/*.[ch]' 'notify/*.[ch]' 'ingest/*.[ch]' \
    'assess/*.[ch]' 'cli/*.[ch]' 'devenv/*.[ch]'); do
    from=$(dirname "$f")
    rf=$(rank "$from")
    for inc in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
        to=$(dirname "$inc")
        [ "$to" = "$from" ] && continue
        rt=$(rank "$to")
        # A worker may include the layers below it but no other worker (its own folder aside).
        if [ "$rt" -ge "$rf" ]; then
            echo "$f: includes $inc, which is not below $from in lib/README.md's order" >&2
            bad=1
        fi
    done
done
[ $bad -eq 0 ] && echo "includes follow lib/README.md's dependency order"
exit $bad
