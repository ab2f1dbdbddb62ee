<?php
// Records one run: "<job> <worker> <threads> <start ns> <end ns>" appended to ./runs.log, around a short
// pause (argv[1] microseconds, default 10 ms) so that runs overlap. hrtime() is CLOCK_MONOTONIC, so the
// times of different processes compare.
$start = hrtime(true);
usleep((int)($argv[1] ?? 10000));
$end = hrtime(true);
$line = sprintf("%s %s %s %d %d\n", getenv('HOPPER_JOB_ID'), getenv('HOPPER_WORKER_ID'),
    getenv('HOPPER_THREADS'), $start, $end);
file_put_contents('runs.log', $line, FILE_APPEND | LOCK_EX);
