<?php
// Fake megSAP pipeline: prints its arguments (one JSON array on stdout) and exits with the code given
// by `-exit N` if present. Enough to prove the php path, argv and exit codes end to end.
$args = array_slice($argv, 1);
echo json_encode($args, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES), "\n";
fwrite(STDERR, "analyze.php: done in " . getcwd() . "\n");
$i = array_search('-exit', $args, true);
exit($i === false ? 0 : (int)$args[$i + 1]);
