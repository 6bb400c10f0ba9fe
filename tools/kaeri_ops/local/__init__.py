"""The local stack: the deployed stack's handlers run in-process against moto's server on loopback.

moto emulates the AWS APIs (DynamoDB, SQS, SES, SNS, Secrets Manager, Step Functions, Scheduler);
what AWS itself would do on top of those APIs (invoke a Lambda for stream records and queue messages,
run a state machine, fire schedules) Kaeri does here, in time order on the stack's clock.
docs/local.md maps each piece onto AWS.
"""
