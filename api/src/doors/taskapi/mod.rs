//! The TaskAPI front door: accepts HTCondor submit descriptions (`subParams`) and runs the job itself.

// Nothing calls the parsers yet: the door that uses them is being written separately.
#[allow(dead_code, unused_imports)]
pub(crate) mod condor;
