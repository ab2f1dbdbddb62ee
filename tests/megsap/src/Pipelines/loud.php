<?php
// Prints exactly 1,000,000 bytes on stdout, starting "BEGIN" and ending "END", and a line on stderr.
echo "BEGIN\n", str_repeat(str_repeat('x', 99) . "\n", 9999), str_repeat('y', 89) . "\n", "END\n";
fwrite(STDERR, "loud.php: stderr line\n");
