"""The harness's moto (`moto_server.py`, started as the harness starts it): transactions still apply, conditions still cancel them,
and a cancelled transaction leaves every item it touched as it was, without copying the table.

Run: .venv/bin/python tests/perf/test_moto_server.py
"""

from __future__ import annotations

import sys
import unittest
from pathlib import Path

import boto3
from botocore.exceptions import ClientError

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from harness import REGION, Moto  # noqa: E402  (the harness's own launcher of moto_server.py)

TABLE = "t"


class PatchedMotoTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = Moto()
        cls.ddb = boto3.client(
            "dynamodb", endpoint_url=cls.moto.url, region_name=REGION, aws_access_key_id="k", aws_secret_access_key="s"
        )
        cls.ddb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )

    @classmethod
    def tearDownClass(cls):
        cls.moto.stop()

    def key(self, sk: str) -> dict:
        return {"pk": {"S": "p"}, "sk": {"S": sk}}

    def get(self, sk: str) -> dict | None:
        return self.ddb.get_item(TableName=TABLE, Key=self.key(sk), ConsistentRead=True).get("Item")

    def put(self, sk: str, **attrs) -> dict:
        item = self.key(sk) | attrs
        self.ddb.put_item(TableName=TABLE, Item=item)
        return item

    def test_a_cancelled_transaction_leaves_every_touched_item_as_it_was(self):
        updated = self.put("a", n={"N": "1"}, blob={"B": b"\x00\xffsecret"}, m={"M": {"x": {"L": [{"S": "y"}, {"N": "2"}]}}})
        deleted = self.put("b", n={"N": "7"})
        with self.assertRaises(ClientError) as raised:
            self.ddb.transact_write_items(
                TransactItems=[
                    {"Update": {"TableName": TABLE, "Key": self.key("a"), "UpdateExpression": "SET n = :two", "ExpressionAttributeValues": {":two": {"N": "2"}}}},
                    {"Delete": {"TableName": TABLE, "Key": self.key("b")}},
                    {"Put": {"TableName": TABLE, "Item": self.key("c") | {"n": {"N": "3"}}}},
                    {"ConditionCheck": {"TableName": TABLE, "Key": self.key("missing"), "ConditionExpression": "attribute_exists(pk)"}},
                ]
            )
        self.assertEqual(raised.exception.response["Error"]["Code"], "TransactionCanceledException")
        self.assertEqual(self.get("a"), updated)
        self.assertEqual(self.get("b"), deleted)
        self.assertIsNone(self.get("c"))

    def test_a_transaction_whose_conditions_hold_applies_every_action(self):
        self.put("d", n={"N": "1"})
        self.ddb.transact_write_items(
            TransactItems=[
                {"Update": {"TableName": TABLE, "Key": self.key("d"), "UpdateExpression": "SET n = :two", "ConditionExpression": "n = :one",
                            "ExpressionAttributeValues": {":one": {"N": "1"}, ":two": {"N": "2"}}}},
                {"Put": {"TableName": TABLE, "Item": self.key("e") | {"n": {"N": "5"}}, "ConditionExpression": "attribute_not_exists(pk)"}},
            ]
        )
        self.assertEqual(self.get("d")["n"], {"N": "2"})
        self.assertEqual(self.get("e")["n"], {"N": "5"})

    def test_a_conditional_put_on_an_existing_item_cancels_and_keeps_it(self):
        kept = self.put("f", n={"N": "1"})
        with self.assertRaises(ClientError):
            self.ddb.transact_write_items(
                TransactItems=[{"Put": {"TableName": TABLE, "Item": self.key("f") | {"n": {"N": "9"}}, "ConditionExpression": "attribute_not_exists(pk)"}}]
            )
        self.assertEqual(self.get("f"), kept)

    def test_two_actions_on_one_item_are_still_refused(self):
        with self.assertRaises(ClientError) as raised:
            self.ddb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": TABLE, "Item": self.key("g")}},
                    {"Delete": {"TableName": TABLE, "Key": self.key("g")}},
                ]
            )
        self.assertEqual(raised.exception.response["Error"]["Code"], "ValidationException")
        self.assertIsNone(self.get("g"))


if __name__ == "__main__":
    unittest.main()
