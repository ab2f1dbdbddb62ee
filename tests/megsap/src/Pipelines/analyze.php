<?php
// Fake megSAP pipeline: prints its arguments (one JSON array on stdout), runs for `-sleep N` seconds if
// given (a long analysis, to watch running or delete), and exits with the code given by `-exit N` if
// present. Enough to prove the php path, argv and exit codes end to end.
$args = array_slice($argv, 1);
echo json_encode($args, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES), "\n";
$s = array_search('-sleep', $args, true);
if ($s !== false) {
    sleep((int)$args[$s + 1]);
}
fwrite(STDERR, "analyze.php: done in " . getcwd() . "\n");
$i = array_search('-exit', $args, true);
exit($i === false ? 0 : (int)$args[$i + 1]);
