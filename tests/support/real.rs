//! The real Twenty of `tests/real-twenty/twenty.sh`, as its other writers use it: an admin
//! script, the academy, an admin in Twenty's UI. They write through Twenty's own APIs (REST for
//! records, GraphQL for the trash, which the REST API of this version cannot reach, and the
//! metadata GraphQL API for roles), with the seeded workspace's API key or its users' tokens.

use std::path::PathBuf;

use serde_json::{json, Value};

/// Where `twenty.sh start` says the server is (`REPXP_REAL_TWENTY_URL`, and the folder of the
/// seeded workspace's tokens, `REPXP_REAL_TWENTY_TOKENS`); `None` when no real Twenty is set.
pub struct RealTwenty {
    pub url: String,
    tokens: PathBuf,
    http: reqwest::Client,
}

/// Who acts: the seeded workspace's API key, or one of its users (tim@apple.dev is an Admin,
/// the guest has Twenty's Guest role until a test gives it another).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Who {
    ApiKey,
    Admin,
    Guest,
}

/// The record fields a test reads back through GraphQL (what REST shows of a record).
const FIELDS: &str = "id name createdAt updatedAt deletedAt repEmail totalXp level defeatedBosses \
                      passedExams efficiencyMetrics lastActivityDate syncWatermarks syncRevision";

impl RealTwenty {
    pub fn from_env() -> Option<RealTwenty> {
        let url = std::env::var("REPXP_REAL_TWENTY_URL").ok()?;
        let tokens = std::env::var("REPXP_REAL_TWENTY_TOKENS").expect(
            "REPXP_REAL_TWENTY_TOKENS names the token folder (tests/real-twenty/twenty.sh env)",
        );
        Some(RealTwenty {
            url: url.trim_end_matches('/').to_string(),
            tokens: PathBuf::from(tokens),
            http: reqwest::Client::new(),
        })
    }

    pub fn token(&self, who: Who) -> String {
        let file = match who {
            Who::ApiKey => "api_key.token",
            Who::Admin => "admin.token",
            Who::Guest => "guest.token",
        };
        std::fs::read_to_string(self.tokens.join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"))
            .trim()
            .to_string()
    }

    /// One request; the status and the JSON body (`Null` when there is none).
    pub async fn call(
        &self,
        who: Who,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(self.token(who));
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.expect("body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// A GraphQL operation on `/graphql` (records) or `/metadata`; panics on `errors`.
    pub async fn graphql(&self, who: Who, endpoint: &str, query: &str, variables: Value) -> Value {
        let body = json!({"query": query, "variables": variables});
        let (status, answer) = self
            .call(who, reqwest::Method::POST, endpoint, Some(&body))
            .await;
        assert!(
            status == 200 && answer.get("errors").is_none(),
            "{endpoint} {query}: HTTP {status} {answer}"
        );
        answer["data"].clone()
    }

    /// Creates a record through REST (what an import or the academy does).
    pub async fn insert(&self, fields: &Value) -> Value {
        let (status, body) = self
            .call(
                Who::ApiKey,
                reqwest::Method::POST,
                "/rest/repProgressions",
                Some(fields),
            )
            .await;
        assert_eq!(status, 201, "create {fields}: {body}");
        body["data"]["createRepProgression"].clone()
    }

    /// Many records in few requests (`POST /rest/batch/…`, 60 a request).
    pub async fn insert_many(&self, records: &[Value]) {
        for chunk in records.chunks(60) {
            let (status, body) = self
                .call(
                    Who::ApiKey,
                    reqwest::Method::POST,
                    "/rest/batch/repProgressions",
                    Some(&Value::from(chunk.to_vec())),
                )
                .await;
            assert_eq!(status, 201, "batch create: {body}");
        }
    }

    /// A blind write of `fields` (an admin in Twenty's UI, the academy): REST update-one.
    pub async fn patch(&self, id: &str, fields: &Value) -> Value {
        let (status, body) = self
            .call(
                Who::ApiKey,
                reqwest::Method::PATCH,
                &format!("/rest/repProgressions/{id}"),
                Some(fields),
            )
            .await;
        assert_eq!(status, 200, "patch {id} {fields}: {body}");
        body["data"]["updateRepProgression"].clone()
    }

    /// Moves a record to the trash, brings it back, or destroys it (trashed or not): GraphQL,
    /// as Twenty's UI does (this version's REST `DELETE` destroys, and it has no restore).
    pub async fn trash_op(&self, op: &str, id: &str) -> bool {
        let query = format!("mutation T($id: UUID!) {{ {op}RepProgression(id: $id) {{ id }} }}");
        let body = json!({"query": query, "variables": {"id": id}});
        let (status, answer) = self
            .call(Who::ApiKey, reqwest::Method::POST, "/graphql", Some(&body))
            .await;
        status == 200 && answer.get("errors").is_none()
    }

    /// Every record whose `repEmail` contains `email`'s text, case-insensitively, live and
    /// trashed: the live ones through REST, which shows any stored value as it is (GraphQL
    /// cannot show a fraction in an integer field), the trashed ones through GraphQL (this
    /// version's REST cannot see the trash).
    pub async fn records_like(&self, email: &str) -> Vec<Value> {
        let filter = format!("repEmail[ilike]:\"%{email}%\"");
        let (status, body) = self
            .call(
                Who::ApiKey,
                reqwest::Method::GET,
                &format!(
                    "/rest/repProgressions?limit=200&depth=0&filter={}",
                    url_encode(&filter)
                ),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let mut out: Vec<Value> = body["data"]["repProgressions"]
            .as_array()
            .expect("records")
            .clone();
        let query = format!(
            "query F($filter: RepProgressionFilterInput!) {{ repProgressions(filter: $filter, first: 60) \
             {{ edges {{ node {{ {FIELDS} }} }} }} }}"
        );
        let filter = json!({"and": [
            {"deletedAt": {"is": "NOT_NULL"}},
            {"repEmail": {"ilike": format!("%{email}%")}},
        ]});
        let data = self
            .graphql(Who::ApiKey, "/graphql", &query, json!({"filter": filter}))
            .await;
        out.extend(
            data["repProgressions"]["edges"]
                .as_array()
                .expect("edges")
                .iter()
                .map(|e| e["node"].clone()),
        );
        out
    }

    /// The `repProgression` object's id in the metadata, if it exists.
    pub async fn object_id(&self) -> Option<String> {
        let (status, body) = self
            .call(
                Who::ApiKey,
                reqwest::Method::GET,
                "/rest/metadata/objects?limit=1000",
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let objects = body["data"]["objects"]
            .as_array()
            .or_else(|| body["data"].as_array())
            .expect("objects");
        objects
            .iter()
            .find(|o| o["nameSingular"] == "repProgression")
            .and_then(|o| o["id"].as_str())
            .map(str::to_string)
    }

    /// Deletes the object and every record of it, as an admin does in Settings → Data model
    /// (deactivate, then delete).
    pub async fn drop_object(&self) {
        let Some(id) = self.object_id().await else {
            return;
        };
        let path = format!("/rest/metadata/objects/{id}");
        let (status, body) = self
            .call(
                Who::ApiKey,
                reqwest::Method::PATCH,
                &path,
                Some(&json!({"isActive": false})),
            )
            .await;
        assert_eq!(status, 200, "deactivate: {body}");
        let (status, body) = self
            .call(Who::ApiKey, reqwest::Method::DELETE, &path, None)
            .await;
        assert_eq!(status, 200, "delete: {body}");
    }

    /// A workspace feature flag, set by the server's admin (tim@apple.dev may: the dev seed
    /// gives him the admin panel).
    pub async fn set_flag(&self, flag: &str, on: bool) {
        let me = self
            .graphql(
                Who::Admin,
                "/graphql",
                "query { currentUser { currentWorkspace { id } } }",
                json!({}),
            )
            .await;
        let workspace = me["currentUser"]["currentWorkspace"]["id"].clone();
        self.graphql(
            Who::Admin,
            "/graphql",
            "mutation F($ws: String!, $flag: String!, $on: Boolean!) { updateWorkspaceFeatureFlag(workspaceId: $ws, featureFlag: $flag, value: $on) }",
            json!({"ws": workspace, "flag": flag, "on": on}),
        )
        .await;
    }

    /// The guest user's token, its role now one that may read (and, if `update`, update) Rep
    /// progressions and nothing else, made through Twenty's metadata API by the workspace's
    /// admin. On this version roles apply to members' tokens only (an API key bypasses every
    /// permission) and object permissions need the workspace flag `IS_PERMISSIONS_V2_ENABLED`
    /// (docs/twenty-api.md, "What differs between versions"). Undo with
    /// [`RealTwenty::guest_back_to_guest`].
    pub async fn guest_with_role(&self, label: &str, update: bool) -> String {
        self.set_flag("IS_PERMISSIONS_V2_ENABLED", true).await;
        let role = match self.role_id(label).await {
            Some(id) => id,
            None => {
                let made = self
                    .graphql(
                        Who::Admin,
                        "/metadata",
                        "mutation R($input: CreateRoleInput!) { createOneRole(createRoleInput: $input) { id } }",
                        json!({"input": {
                            "label": label,
                            "description": "RepXP: read and update Rep progressions only",
                            "canUpdateAllSettings": false,
                            "canReadAllObjectRecords": false,
                            "canUpdateAllObjectRecords": false,
                            "canSoftDeleteAllObjectRecords": false,
                            "canDestroyAllObjectRecords": false,
                        }}),
                    )
                    .await;
                made["createOneRole"]["id"]
                    .as_str()
                    .expect("role id")
                    .to_string()
            }
        };
        let object = self.object_id().await.expect("the Rep progressions object");
        self.graphql(
            Who::Admin,
            "/metadata",
            "mutation P($input: UpsertObjectPermissionsInput!) { upsertObjectPermissions(upsertObjectPermissionsInput: $input) { objectMetadataId } }",
            json!({"input": {"roleId": role, "objectPermissions": [{
                "objectMetadataId": object,
                "canReadObjectRecords": true,
                "canUpdateObjectRecords": update,
                "canSoftDeleteObjectRecords": false,
                "canDestroyObjectRecords": false,
            }]}}),
        )
        .await;
        self.give_guest(&role).await;
        self.token(Who::Guest)
    }

    /// The guest gets Twenty's Guest role back and the flag goes off again, as the seed had them.
    pub async fn guest_back_to_guest(&self) {
        if let Some(guest) = self.role_id("Guest").await {
            self.give_guest(&guest).await;
        }
        self.set_flag("IS_PERMISSIONS_V2_ENABLED", false).await;
    }

    async fn role_id(&self, label: &str) -> Option<String> {
        let roles = self
            .graphql(
                Who::Admin,
                "/metadata",
                "query { getRoles { id label } }",
                json!({}),
            )
            .await;
        roles["getRoles"]
            .as_array()
            .expect("roles")
            .iter()
            .find(|r| r["label"] == label)
            .and_then(|r| r["id"].as_str())
            .map(str::to_string)
    }

    async fn give_guest(&self, role: &str) {
        let me = self
            .graphql(
                Who::Guest,
                "/graphql",
                "query { currentUser { workspaceMember { id } } }",
                json!({}),
            )
            .await;
        let member = me["currentUser"]["workspaceMember"]["id"]
            .as_str()
            .expect("the guest's workspace member")
            .to_string();
        self.graphql(
            Who::Admin,
            "/metadata",
            "mutation A($member: String!, $role: String!) { updateWorkspaceMemberRole(workspaceMemberId: $member, roleId: $role) { id } }",
            json!({"member": member, "role": role}),
        )
        .await;
    }
}

/// A query-string value, percent-encoded.
fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
