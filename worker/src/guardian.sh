# The guardian of one worker's jobs. It reads "+<pgid>" (a job's process group started) and "-<pgid>"
# (it ended) from the worker on stdin. When stdin closes and groups are still listed, the worker died
# without ending them (kill -9, OOM killer, a crash): it sends each group SIGTERM, and SIGKILL to what
# is left after the grace period ($1, whole seconds). Runs in a process group of its own, so no job's
# signals reach it. POSIX sh only (dash's kill takes no "--": a negative number is the group).
grace=$1
groups=" "
while IFS= read -r line; do
  case $line in
    +*) groups="$groups${line#+} " ;;
    -*)
      kept=" "
      for g in $groups; do [ "$g" = "${line#-}" ] || kept="$kept$g "; done
      groups=$kept
      ;;
  esac
done
[ "$groups" = " " ] && exit 0
for g in $groups; do kill -TERM "-$g" 2>/dev/null; done
end=$(($(date +%s) + grace))
while [ "$(date +%s)" -lt "$end" ]; do
  alive=
  for g in $groups; do kill -0 "-$g" 2>/dev/null && alive=1; done
  [ -z "$alive" ] && exit 0
  sleep 0.1
done
for g in $groups; do kill -KILL "-$g" 2>/dev/null; done
exit 0
