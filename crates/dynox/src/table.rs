//! Table operations on a model's table: create, describe, wait, delete.

use crate::Client;
use crate::error::{Error, Result};
use crate::model::{KeyAttribute, Model};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ProvisionedThroughput,
    ScalarAttributeType, TableDescription, TableStatus,
};
use dynox_iam::{ResourceRef, actions::dynamodb, mark};
use std::marker::PhantomData;
use std::time::{Duration, Instant};

/// How a table is billed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Billing {
    /// Pay per request (the default).
    #[default]
    OnDemand,
    /// Provisioned capacity units.
    Provisioned {
        /// Read capacity units.
        read: i64,
        /// Write capacity units.
        write: i64,
    },
}

impl Client {
    /// Creates the model's table from its key declaration.
    pub fn create_table<M: Model>(&self) -> CreateTable<'_, M> {
        CreateTable {
            client: self,
            billing: Billing::OnDemand,
            deletion_protection: false,
            _model: PhantomData,
        }
    }

    /// Describes the model's table.
    pub async fn describe_table<M: Model>(&self) -> Result<TableDescription> {
        mark!(
            dynamodb::DESCRIBE_TABLE,
            ResourceRef::Table(M::TABLE),
            "describe_table",
            M::NAME
        );
        let req = self.sdk().describe_table().table_name(M::TABLE);
        self.send(req)
            .await?
            .table
            .ok_or_else(|| Error::validation("DescribeTable returned no table"))
    }

    /// Polls `DescribeTable` until the model's table is `ACTIVE`, for at most `timeout`.
    pub async fn wait_until_active<M: Model>(&self, timeout: Duration) -> Result<()> {
        let start = Instant::now();
        let mut pause = Duration::from_millis(25);
        loop {
            match self.describe_table::<M>().await {
                Ok(t) if t.table_status == Some(TableStatus::Active) => return Ok(()),
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
            if start.elapsed() + pause > timeout {
                return Err(Error::Timeout {
                    what: format!("table {} to become active", M::TABLE),
                    after: timeout,
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }

    /// Deletes the model's table.
    pub async fn delete_table<M: Model>(&self) -> Result<()> {
        mark!(
            dynamodb::DELETE_TABLE,
            ResourceRef::Table(M::TABLE),
            "delete_table",
            M::NAME
        );
        let req = self.sdk().delete_table().table_name(M::TABLE);
        self.send(req).await.map(|_| ())
    }
}

/// A pending `CreateTable`: see [`Client::create_table`].
#[must_use = "a request does nothing until it is sent"]
pub struct CreateTable<'c, M: Model> {
    client: &'c Client,
    billing: Billing,
    deletion_protection: bool,
    _model: PhantomData<fn() -> M>,
}

impl<M: Model> std::fmt::Debug for CreateTable<'_, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateTable")
            .field("table", &M::TABLE)
            .field("billing", &self.billing)
            .finish_non_exhaustive()
    }
}

fn scalar(k: &KeyAttribute) -> ScalarAttributeType {
    match k.scalar {
        crate::attr::Scalar::S => ScalarAttributeType::S,
        crate::attr::Scalar::N => ScalarAttributeType::N,
        crate::attr::Scalar::B => ScalarAttributeType::B,
    }
}

impl<M: Model> CreateTable<'_, M> {
    /// Billing mode (on demand by default).
    pub fn billing(mut self, billing: Billing) -> Self {
        self.billing = billing;
        self
    }

    /// Refuse deletion until protection is turned off.
    pub fn deletion_protection(mut self, on: bool) -> Self {
        self.deletion_protection = on;
        self
    }

    /// Sends the request. The table may still be `CREATING`: see [`Client::wait_until_active`].
    pub async fn send(self) -> Result<TableDescription> {
        mark!(
            dynamodb::CREATE_TABLE,
            ResourceRef::Table(M::TABLE),
            "create_table",
            M::NAME
        );
        let mut keys = vec![(M::PARTITION_KEY, KeyType::Hash)];
        if let Some(sk) = M::SORT_KEY {
            keys.push((sk, KeyType::Range));
        }
        let mut req = self
            .client
            .sdk()
            .create_table()
            .table_name(M::TABLE)
            .deletion_protection_enabled(self.deletion_protection);
        for (k, kind) in keys {
            req = req
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name(k.name)
                        .key_type(kind)
                        .build()
                        .map_err(|e| Error::validation(e.to_string()))?,
                )
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name(k.name)
                        .attribute_type(scalar(&k))
                        .build()
                        .map_err(|e| Error::validation(e.to_string()))?,
                );
        }
        req = match self.billing {
            Billing::OnDemand => req.billing_mode(BillingMode::PayPerRequest),
            Billing::Provisioned { read, write } if read < 1 || write < 1 => {
                return Err(Error::validation(format!(
                    "provisioned capacity is at least 1 read and 1 write unit, not {read}/{write}"
                )));
            }
            Billing::Provisioned { read, write } => req
                .billing_mode(BillingMode::Provisioned)
                .provisioned_throughput(
                    ProvisionedThroughput::builder()
                        .read_capacity_units(read)
                        .write_capacity_units(write)
                        .build()
                        .map_err(|e| Error::validation(e.to_string()))?,
                ),
        };
        self.client
            .send(req)
            .await?
            .table_description
            .ok_or_else(|| Error::validation("CreateTable returned no table description"))
    }
}
