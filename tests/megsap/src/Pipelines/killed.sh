# Dies by SIGKILL, as an out-of-memory kill would look.
echo "about to be killed"
kill -9 $$
