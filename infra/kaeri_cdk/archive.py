"""The event archive: table streams -> EventBridge Pipes (transform) -> Firehose -> Parquet on S3, Glue, Athena.

Why this path: the events table already has a stream (evaluate reads it); a pipe is the second of the
two readers a DynamoDB stream shard allows, with the transform as its enrichment (the same mapping,
kaeri.archive.rows, as the local stack's archive), and Firehose converts the JSON rows to Parquet with
the Glue table's schema and partitions them by shop and day (dynamic partitioning). No change to the
tables' keys, no Kinesis stream to run. Objects expire after the retention (context
`kaeri:archiveRetentionDays`, default 1095 days); Athena reads the Glue tables through partition
projection, so a new shop or day needs no crawler. Shops query their own data in the `kaeri` workgroup.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_pipes as pipes
from aws_cdk import aws_s3 as s3
from constructs import Construct

from kaeri.archive.schema import DATASETS, PARTITION_KEYS
from kaeri_cdk.data import Data
from kaeri_cdk.function import KaeriFunction
from kaeri_cdk.layers import Layers
from kaeri_cdk.nag import acknowledge
from kaeri_ops.definitions.topology import Function as FunctionSpec

ARCHIVE_TRANSFORM = FunctionSpec("archive-transform", "functions/archive", "archive_transform.handler")
DEFAULT_RETENTION_DAYS = 1095
# Logical table whose stream feeds each dataset.
SOURCES = {"events": "events", "messages": "messages"}


class Archive(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        data: Data,
        layers: Layers,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=data.pii_key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=False,
            removal_policy=removal_policy,
            lifecycle_rules=[
                s3.LifecycleRule(id="retention", expiration=Duration.days(retention_days)),
                # Athena's query metadata and UNLOAD output (read once by AthenaEngine, which deletes it):
                # whatever a failed reader left behind goes after a day.
                s3.LifecycleRule(id="athena-results", prefix="athena-results/", expiration=Duration.days(1)),
            ],
        )
        acknowledge(self.bucket, "S1", "access logs of the archive bucket are CloudTrail data events")
        self.database_name = f"{data.prefix.replace('-', '_')}_archive"
        database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=stack.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=self.database_name, description="Kaeri event archive (Parquet on S3)"
            ),
        )
        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=f"{data.prefix}-archive",
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                bytes_scanned_cutoff_per_query=100 * 2**30,
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{self.bucket.bucket_name}/athena-results/",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=data.pii_key.key_arn
                    ),
                ),
            ),
        )
        self.transform = KaeriFunction(self, ARCHIVE_TRANSFORM, data=data, layers=layers)
        self.tables: dict[str, glue.CfnTable] = {}
        for name, spec in DATASETS.items():
            location = f"s3://{self.bucket.bucket_name}/{name}/"
            table = glue.CfnTable(
                self,
                f"{name.title()}Table",
                catalog_id=stack.account,
                database_name=self.database_name,
                table_input=glue.CfnTable.TableInputProperty(
                    name=name,
                    description=spec.purpose,
                    table_type="EXTERNAL_TABLE",
                    parameters={
                        "classification": "parquet",
                        "projection.enabled": "true",
                        "projection.shop_id.type": "injected",
                        "projection.dt.type": "date",
                        "projection.dt.format": "yyyy-MM-dd",
                        "projection.dt.range": "2020-01-01,NOW",
                        "storage.location.template": location + "shop_id=${shop_id}/dt=${dt}/",
                    },
                    partition_keys=[
                        glue.CfnTable.ColumnProperty(name=c.name, type=c.type, comment=c.comment)
                        for c in PARTITION_KEYS
                    ],
                    storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                        location=location,
                        input_format="org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                        output_format="org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                        serde_info=glue.CfnTable.SerdeInfoProperty(
                            serialization_library="org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
                        ),
                        columns=[
                            glue.CfnTable.ColumnProperty(name=c.name, type=c.type, comment=c.comment or None)
                            for c in spec.columns
                        ],
                    ),
                ),
            )
            table.add_dependency(database)
            self.tables[name] = table
            self._delivery(name, data, stack)

    def _delivery(self, name: str, data: Data, stack: Stack) -> None:
        role = iam.Role(
            self,
            f"{name.title()}FirehoseRole",
            assumed_by=iam.ServicePrincipal("firehose.amazonaws.com"),
            description=f"Kaeri archive: Firehose writes {name} Parquet to the archive bucket",
        )
        self.bucket.grant_write(role, f"{name}/*")
        self.bucket.grant_write(role, f"errors/{name}/*")
        data.pii_key.grant_encrypt_decrypt(role)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"],
                resources=[
                    f"arn:{Aws.PARTITION}:glue:{stack.region}:{stack.account}:catalog",
                    f"arn:{Aws.PARTITION}:glue:{stack.region}:{stack.account}:database/{self.database_name}",
                    f"arn:{Aws.PARTITION}:glue:{stack.region}:{stack.account}:table/{self.database_name}/{name}",
                ],
            )
        )
        stream = firehose.CfnDeliveryStream(
            self,
            f"{name.title()}Delivery",
            delivery_stream_type="DirectPut",
            delivery_stream_encryption_configuration_input=firehose.CfnDeliveryStream.DeliveryStreamEncryptionConfigurationInputProperty(
                key_type="AWS_OWNED_CMK"
            ),
            extended_s3_destination_configuration=firehose.CfnDeliveryStream.ExtendedS3DestinationConfigurationProperty(
                bucket_arn=self.bucket.bucket_arn,
                role_arn=role.role_arn,
                prefix=f"{name}/shop_id=!{{partitionKeyFromQuery:shop_id}}/dt=!{{partitionKeyFromQuery:dt}}/",
                error_output_prefix=f"errors/{name}/!{{firehose:error-output-type}}/",
                buffering_hints=firehose.CfnDeliveryStream.BufferingHintsProperty(
                    interval_in_seconds=900, size_in_m_bs=128
                ),
                encryption_configuration=firehose.CfnDeliveryStream.EncryptionConfigurationProperty(
                    kms_encryption_config=firehose.CfnDeliveryStream.KMSEncryptionConfigProperty(
                        awskms_key_arn=data.pii_key.key_arn
                    )
                ),
                dynamic_partitioning_configuration=firehose.CfnDeliveryStream.DynamicPartitioningConfigurationProperty(
                    enabled=True
                ),
                processing_configuration=firehose.CfnDeliveryStream.ProcessingConfigurationProperty(
                    enabled=True,
                    processors=[
                        firehose.CfnDeliveryStream.ProcessorProperty(
                            type="MetadataExtraction",
                            parameters=[
                                firehose.CfnDeliveryStream.ProcessorParameterProperty(
                                    parameter_name="MetadataExtractionQuery",
                                    parameter_value="{shop_id: .shop_id, dt: .dt}",
                                ),
                                firehose.CfnDeliveryStream.ProcessorParameterProperty(
                                    parameter_name="JsonParsingEngine", parameter_value="JQ-1.6"
                                ),
                            ],
                        )
                    ],
                ),
                data_format_conversion_configuration=firehose.CfnDeliveryStream.DataFormatConversionConfigurationProperty(
                    enabled=True,
                    input_format_configuration=firehose.CfnDeliveryStream.InputFormatConfigurationProperty(
                        deserializer=firehose.CfnDeliveryStream.DeserializerProperty(
                            open_x_json_ser_de=firehose.CfnDeliveryStream.OpenXJsonSerDeProperty()
                        )
                    ),
                    output_format_configuration=firehose.CfnDeliveryStream.OutputFormatConfigurationProperty(
                        serializer=firehose.CfnDeliveryStream.SerializerProperty(
                            parquet_ser_de=firehose.CfnDeliveryStream.ParquetSerDeProperty(
                                compression="SNAPPY"
                            )
                        )
                    ),
                    schema_configuration=firehose.CfnDeliveryStream.SchemaConfigurationProperty(
                        database_name=self.database_name,
                        table_name=name,
                        role_arn=role.role_arn,
                        region=stack.region,
                        version_id="LATEST",
                    ),
                ),
            ),
        )
        stream.node.add_dependency(role)
        stream.add_dependency(self.tables[name])

        table = data.table(SOURCES[name])
        pipe_role = iam.Role(
            self,
            f"{name.title()}PipeRole",
            assumed_by=iam.ServicePrincipal("pipes.amazonaws.com"),
            description=f"Kaeri archive: the {name} stream through the transform into Firehose",
        )
        table.grant_stream_read(pipe_role)
        acknowledge(
            pipe_role,
            "IAM5[Resource::*]",
            "dynamodb:ListStreams has no resource-level permission (CDK's stream read grant); the "
            "stream itself is granted by its ARN",
        )
        self.transform.function.grant_invoke(pipe_role)
        pipe_role.add_to_policy(
            iam.PolicyStatement(
                actions=["firehose:PutRecord", "firehose:PutRecordBatch"], resources=[stream.attr_arn]
            )
        )
        pipes.CfnPipe(
            self,
            f"{name.title()}Pipe",
            role_arn=pipe_role.role_arn,
            source=table.table_stream_arn,
            source_parameters=pipes.CfnPipe.PipeSourceParametersProperty(
                dynamo_db_stream_parameters=pipes.CfnPipe.PipeSourceDynamoDBStreamParametersProperty(
                    starting_position="TRIM_HORIZON", batch_size=100, maximum_retry_attempts=10
                ),
                filter_criteria=pipes.CfnPipe.FilterCriteriaProperty(
                    filters=[pipes.CfnPipe.FilterProperty(pattern='{"eventName": ["INSERT", "MODIFY"]}')]
                ),
            ),
            enrichment=self.transform.function.function_arn,
            target=stream.attr_arn,
            description=f"Kaeri archive: {name} stream -> transform -> Firehose (Parquet)",
        )

    def query_resources(self) -> dict[str, list[str]]:
        """What the kaeri_ops.definitions.access grants of Athena readers name (QUERY_ARCHIVE), as built here."""
        stack = Stack.of(self)
        glue = f"arn:{Aws.PARTITION}:glue:{stack.region}:{stack.account}"
        return {
            "athena:archive": [
                f"arn:{Aws.PARTITION}:athena:{stack.region}:{stack.account}:workgroup/{self.workgroup.name}"
            ],
            "glue:archive": [
                f"{glue}:catalog",
                f"{glue}:database/{self.database_name}",
                *(f"{glue}:table/{self.database_name}/{t}" for t in DATASETS),
            ],
            "bucket:archive": [self.bucket.bucket_arn, self.bucket.arn_for_objects("*")],
            "bucket:archive-results": [self.bucket.arn_for_objects("athena-results/*")],
        }

    def configure_reader(self, fn: KaeriFunction) -> None:
        """Tell an Athena reader where the archive is (its grants come from kaeri_ops.definitions.access)."""
        fn.add_environment("KAERI_ARCHIVE_DATABASE", self.database_name)
        fn.add_environment("KAERI_ATHENA_WORKGROUP", str(self.workgroup.name))
