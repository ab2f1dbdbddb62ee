<?php
// Holds its thread slots until the test releases it. Writes "<pid> [<child pid>]" to
// ./<job>.started once running (with `-child`, after starting term-recorder.sh in the background, in the same
// process group), then waits until ./release-<job> or ./release-all exists.
$job = getenv('HOPPER_JOB_ID');
$pids = [getmypid()];
if (in_array('-child', $argv, true)) {
    $child = escapeshellarg(__DIR__ . '/term-recorder.sh');
    $pids[] = (int)shell_exec("sh $child > /dev/null 2>&1 & echo \$!");
}
file_put_contents("$job.started.tmp", implode(' ', $pids));
rename("$job.started.tmp", "$job.started");
while (!file_exists("release-$job") && !file_exists('release-all')) {
    usleep(20000);
}
echo "released\n";
