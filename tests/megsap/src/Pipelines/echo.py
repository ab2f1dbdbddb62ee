# The python3 interpreter mapping: prints its arguments, one per line.
import sys
print("\n".join(sys.argv[1:]))
