from kaeri.tables import EVENTS, TABLES


def test_every_table_creates_in_the_emulation(aws):
    names = set(aws.dynamodb.list_tables()["TableNames"])
    assert names == {t.physical_name() for t in TABLES}


def test_events_table_has_a_stream(aws):
    desc = aws.dynamodb.describe_table(TableName=EVENTS.physical_name())["Table"]
    assert desc["StreamSpecification"]["StreamEnabled"] is True
    assert desc["LatestStreamArn"]
