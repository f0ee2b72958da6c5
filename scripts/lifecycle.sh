#!/usr/bin/env bash
# The release path on the embedded data, after `make demo` (run it as `make lifecycle`):
#
#   1 render the dossier of each registered version (sealaudit dossier)
#   2 promote both versions to `shadow` (governance passed + dossier; capability may fail)
#   3 render production-like lots (sealaudit data lots)
#   4 inspect a batch of lot images with models:/<inline>@shadow
#   5 monitor the lots with models:/<monitoring>@shadow (monitor and checkpoint verified
#     against the sha256 the registry recorded)
#   6 try `champion` (every protocol criterion); a refusal (exit 1) is printed and the
#     script goes on: the demo model is expected not to meet the capability requirement
#   7 with a champion: inspect with @champion and roll the champion back; without one: roll
#     the shadow alias back
#   8 sealaudit audit verify (the hash chain and the heads recorded in the registry)
#
# Every step states the exit codes it accepts; anything else stops the script (exit 1).
# Outputs go under lifecycle/ (owned by this script, emptied at each run, gitignored); the
# dossiers are rendered into lifecycle/dossiers and promotions read them from there.
# Decisions are real: they move aliases in the registry and are signed into the audit log
# (registry_audit.jsonl) as "$SIGNER" with a reason naming this script.
#
# Run twice: a promotion whose version already holds the alias is skipped (exit 2, "already
# holds"; the decision signed the first time stands, nothing is signed twice). A rollback
# with no earlier holder of the alias (a registry with one version per mode, as after a first
# `make demo`) is refused by sealaudit (exit 2, "nothing to roll back to"): printed, not fatal.
set -euo pipefail

OUT=lifecycle
SIGNER=${LIFECYCLE_SIGNER:-sealaudit lifecycle demo}
ROLE=${LIFECYCLE_ROLE:-demonstration, not a release}
REASON="make lifecycle: demonstration of the release path on the embedded data"
REGISTRATION=artifacts/register/registration.json
SIGN=(--signer "$SIGNER" --role "$ROLE" --reason "$REASON")

step() { printf '\n=== %s\n' "$*"; }

# run CODES CMD...: run CMD, echo it, keep its output in $OUT/last.log; stop unless its exit
# code is one of the space-separated CODES. The code is left in RC.
run() {
    local codes=$1
    shift
    printf "$ "; printf "%q " "$@"; echo
    set +e
    "$@" 2>&1 | tee "$OUT/last.log"
    RC=${PIPESTATUS[0]}
    set -e
    if [[ " $codes " != *" $RC "* ]]; then
        echo "lifecycle: '$*' exited $RC, expected one of: $codes" >&2
        exit 1
    fi
}

said() { grep -q -- "$1" "$OUT/last.log"; }

# promote NAME VERSION ALIAS: 0 promoted, 1 refused (the verdict is printed), or 2 with
# "already holds" (skipped). Sets PROMOTED=yes when the alias holds VERSION afterwards.
promote() {
    run "0 1 2" sealaudit promote "$1" "$2" --alias "$3" --dossiers "$OUT/dossiers" "${SIGN[@]}"
    PROMOTED=no
    case $RC in
        0) PROMOTED=yes ;;
        1) echo "-> $1 v$2 refused for @$3 (verdict above); going on" ;;
        2) said "already holds @$3" || { echo "lifecycle: unexpected error" >&2; exit 1; }
           echo "-> $1 v$2 already holds @$3 (an earlier run); skipped"
           PROMOTED=yes ;;
    esac
}

# rollback NAME ALIAS: 0 rolled back, or 2 with "nothing to roll back to" (no earlier holder).
rollback() {
    run "0 2" sealaudit promote "$1" --rollback --alias "$2" "${SIGN[@]}"
    if [[ $RC == 2 ]]; then
        said "nothing to roll back to" || { echo "lifecycle: unexpected error" >&2; exit 1; }
        echo "-> $1@$2 has no earlier holder: the alias stays (sealaudit refuses, as it should)"
    fi
}

step "0 preflight: registered versions from $REGISTRATION"
if [[ ! -f $REGISTRATION ]] || { [[ -z ${MLFLOW_TRACKING_URI:-} ]] && [[ ! -f mlflow.db ]]; }; then
    echo "lifecycle: no registered versions ($REGISTRATION or mlflow.db missing): run \`make demo\` first" >&2
    exit 1
fi
read -r INLINE INLINE_V MONITORING MONITORING_V < <(python -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["inline"]["model_name"], r["inline"]["version"], r["monitoring"]["model_name"], r["monitoring"]["version"])
' "$REGISTRATION")
echo "inline: $INLINE v$INLINE_V; monitoring: $MONITORING v$MONITORING_V"
rm -rf "$OUT"
mkdir -p "$OUT"

step "1 dossiers of the registered versions"
run 0 sealaudit dossier --model "$INLINE" --version "$INLINE_V" --out "$OUT/dossiers"
run 0 sealaudit dossier --model "$MONITORING" --version "$MONITORING_V" --out "$OUT/dossiers"

step "2 shadow: beside human inspection, decisions unused"
promote "$INLINE" "$INLINE_V" shadow
[[ $PROMOTED == yes ]] || { echo "lifecycle: shadow refused for $INLINE" >&2; exit 1; }
promote "$MONITORING" "$MONITORING_V" shadow
[[ $PROMOTED == yes ]] || { echo "lifecycle: shadow refused for $MONITORING" >&2; exit 1; }

step "3 production-like lots"
run 0 sealaudit data lots "$OUT/lots" --lots 2 --images-per-lot 10
mapfile -t BATCH < <(find "$OUT/lots" -name '*.png' | sort | head -n 8)

step "4 inspect a batch with models:/$INLINE@shadow"
run 0 sealaudit inspect "${BATCH[@]}" --model "models:/$INLINE@shadow" --heatmaps "$OUT/heatmaps/shadow"

step "5 monitor the lots with models:/$MONITORING@shadow (0 in control, 3 alarm)"
run "0 3" sealaudit monitor "$OUT/lots" --model "models:/$MONITORING@shadow" \
    --history "$OUT/monitoring/history.csv" --report-dir "$OUT/monitoring/shadow"

step "6 champion: every protocol criterion (refusal expected on the demo model)"
promote "$INLINE" "$INLINE_V" champion
INLINE_CHAMPION=$PROMOTED
promote "$MONITORING" "$MONITORING_V" champion

if [[ $INLINE_CHAMPION == yes ]]; then
    step "7 inspect with models:/$INLINE@champion, then roll the champion back"
    run 0 sealaudit inspect "${BATCH[@]}" --model "models:/$INLINE@champion"
    rollback "$INLINE" champion
else
    step "7 no champion: roll the shadow alias back"
    rollback "$INLINE" shadow
fi

step "8 audit trail"
run 0 sealaudit audit verify
rm -f "$OUT/last.log"
echo
echo "lifecycle: done; outputs in $OUT/"
