"""Every name, size and limit the CDK app uses, in one place."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

REPO_ROOT = Path(__file__).resolve().parents[2]
COMMON_LAYER_SOURCE = REPO_ROOT / "layers" / "common"
BUILD_DIR = REPO_ROOT / "build" / "layers"

STACK_ID = "Kaeri"
SERVICE_NAME = "kaeri"
METRICS_NAMESPACE = "Kaeri"

# Context keys (cdk.json "context", or `cdk synth -c key=value`).
CTX_STACK_NAME = "stack_name"
CTX_TABLE_PREFIX = "table_prefix"
CTX_SENDER_IDENTITY = "sender_identity"  # SES identity (domain or address) mail is sent from; "*" = any
CTX_API_URL = "api_url"  # public base URL when a custom domain fronts the API
CTX_ALARM_EMAIL = "alarm_email"
CTX_RETAIN_DATA = "retain_data"  # "false" lets `cdk destroy` delete tables, keys and buckets
CTX_LAYERS = "layers"  # "skip" builds placeholder layers (kaeri package only, no dependencies)

DEFAULT_TABLE_PREFIX = "kaeri"

# Runtime and the layer's binary platform must agree: the wheels pip picks are for this CPU and ABI.
# Graviton (arm64) is about 20% cheaper per GB-second; every dependency ships aarch64 wheels.
PYTHON_VERSION = "3.12"
RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
PIP_PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")
NUMPY_REQUIREMENT = "numpy>=1.26,<3"
LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024

LOG_RETENTION = logs.RetentionDays.ONE_MONTH
ACCESS_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS

# API Gateway
API_STAGE = "prod"
API_THROTTLE_RATE = 200  # steady requests per second for the whole stage
API_THROTTLE_BURST = 400

# Functions: memory (MB) and timeout per topology name; anything unlisted gets the default.
DEFAULT_MEMORY = 512
DEFAULT_TIMEOUT = Duration.seconds(30)
FUNCTION_MEMORY = {"recommend-nightly": 2048, "report-nightly": 1024, "evaluate-fanout": 1024}
FUNCTION_TIMEOUT = {
    "evaluate-stream": Duration.seconds(60),
    "evaluate-schedule": Duration.minutes(5),
    "evaluate-fanout": Duration.minutes(2),
    "send-message": Duration.seconds(60),
    "recommend-nightly": Duration.minutes(15),
    "report-nightly": Duration.minutes(15),
}

# Stream consumer (events table -> evaluate-stream)
STREAM_BATCH_SIZE = 100
STREAM_BATCHING_WINDOW = Duration.seconds(1)
STREAM_RETRY_ATTEMPTS = 5
STREAM_MAX_RECORD_AGE = Duration.hours(24)
STREAM_PARALLELIZATION = 2

# Fan-out queue (large scheduled audiences -> evaluate-fanout)
FANOUT_BATCH_SIZE = 10
FANOUT_MAX_RECEIVE = 5
QUEUE_RETENTION = Duration.days(14)

# Schedules (EventBridge Scheduler), in the shops' home timezone.
SCHEDULE_TIMEZONE = "Asia/Tokyo"
RECOMMEND_NIGHTLY_CRON = "cron(0 3 * * ? *)"
REPORT_NIGHTLY_CRON = "cron(30 4 * * ? *)"

# SES configuration set events that come back to send-feedback.
SES_EVENTS = ("SEND", "DELIVERY", "BOUNCE", "COMPLAINT", "OPEN", "CLICK", "REJECT", "RENDERING_FAILURE")

# Alarms
ITERATOR_AGE_ALARM_MS = 5 * 60 * 1000
BOUNCE_RATE_ALARM = 0.05
COMPLAINT_RATE_ALARM = 0.001

# Names of CloudFormation outputs the CLI reads with `--stack NAME`.
API_BINARY_MEDIA_TYPES = ("application/json", "application/gzip")

OUTPUT_API_URL = "ApiUrl"
OUTPUT_TABLE_PREFIX = "TablePrefix"
OUTPUT_REGION = "Region"
OUTPUT_STATE_MACHINE = "JourneyStateMachineArn"
OUTPUT_FANOUT_QUEUE = "FanoutQueueUrl"
OUTPUT_REPORTS_BUCKET = "ReportsBucket"
OUTPUT_CONFIGURATION_SET = "SesConfigurationSet"
OUTPUT_SCHEDULE_GROUP = "ScheduleGroup"
OUTPUT_SCHEDULER_ROLE = "SchedulerRoleArn"
OUTPUT_SCHEDULE_TARGET = "ScheduleTargetArn"
OUTPUT_LINK_SECRET = "LinkSigningSecretName"
OUTPUT_CONSOLE_USER_POOL = "ConsoleUserPoolId"
OUTPUT_CONSOLE_CLIENT = "ConsoleClientId"
OUTPUT_CONSOLE_URL = "ConsoleUrl"


def secret_name(prefix: str, what: str) -> str:
    return f"{prefix}/{what}"


def function_name(prefix: str, logical: str) -> str:
    return f"{prefix}-{logical}"
