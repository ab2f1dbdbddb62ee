# Started in the background by `hold.php -child`: notes a SIGTERM in ./<job>.child-term, then exits.
trap 'echo term > "$HOPPER_JOB_ID.child-term"; exit 0' TERM
while :; do sleep 0.1; done
