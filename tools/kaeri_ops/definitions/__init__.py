"""One definition of each access rule, API route and the journey state machine, used by the CDK app,
the local stack and the tests alike."""
