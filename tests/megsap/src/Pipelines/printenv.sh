# Prints the environment the job sees, sorted.
env | sort
