<?php
// Prints over time, for reading a job's log while it runs: "one" on stdout and "warming up" on stderr,
// then, once ./release-<job> exists, "two"; then, once ./release-<job>-end exists, "three", and ends.
// ./release-all releases both.
$job = getenv('HOPPER_JOB_ID');
function await_release($name)
{
    while (!file_exists($name) && !file_exists('release-all')) {
        usleep(20000);
    }
}
echo "one\n";
fwrite(STDERR, "warming up\n");
await_release("release-$job");
echo "two\n";
await_release("release-$job-end");
echo "three\n";
