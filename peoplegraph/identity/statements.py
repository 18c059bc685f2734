"""Every Cypher statement of the graph stores (see `peoplegraph.identity.cypher` for the model).

Written to the common subset of the embedded engine's dialect (LadybugDB, Kuzu's) and Neo4j's. Rows of an
UNWIND find their two ends in two chained MATCHes (`MATCH (a {key: r.a}) WITH a, r MATCH (b {key: r.b})`):
the embedded engine plans one MATCH of two keyed patterns as a join over every node of both labels, about
180 times slower (12.8 s against 0.07 s for 2,000 SEEN_IN rows among 80,000 photos). Labels
fixed in the text (Kuzu cannot set them at run time), properties set one by one (Kuzu has no `SET n +=
map`), no empty list parameters (Kuzu cannot infer their type), every node found by its primary key
`key`. What differs lives here and only here: the schema (`EMBEDDED_SCHEMA` node and rel tables against
`NEO4J_SCHEMA` constraints and indexes) and `SHORTEST_CHAIN`.
"""

from __future__ import annotations

_PERSON_COLUMNS = ("born", "died", "aliases", "biography", "notes", "external_ids", "visibility")
_APPEARANCE_COLUMNS = "face_id INT64, box DOUBLE[], cluster_id INT64, method STRING, score DOUBLE"
EMBEDDED_SCHEMA = (
    "CREATE NODE TABLE IF NOT EXISTS Project(name STRING PRIMARY KEY, pending_run STRING, face_model STRING, "
    "face_dim INT64, highest_gone INT64)",
    "CREATE NODE TABLE IF NOT EXISTS Photo(key STRING PRIMARY KEY, project STRING, photo_id STRING, "
    "path STRING, width INT64, height INT64, face_count INT64, taken_at STRING, body_model STRING)",
    "CREATE NODE TABLE IF NOT EXISTS Cluster(key STRING PRIMARY KEY, project STRING, cluster_id INT64, "
    "size INT64, representative_face_id INT64, representative_photo_id STRING, representative_box DOUBLE[], "
    "mean_confidence DOUBLE)",
    "CREATE NODE TABLE IF NOT EXISTS Person(key STRING PRIMARY KEY, project STRING, person_id STRING, "
    "name STRING, " + ", ".join(f"{c} STRING" for c in _PERSON_COLUMNS) + ")",
    "CREATE NODE TABLE IF NOT EXISTS Organisation(key STRING PRIMARY KEY, project STRING, "
    "organisation_id STRING, name STRING, kind STRING)",
    "CREATE NODE TABLE IF NOT EXISTS Event(key STRING PRIMARY KEY, project STRING, event_id STRING, "
    "name STRING, date STRING, place STRING)",
    "CREATE NODE TABLE IF NOT EXISTS FaceDecision(key STRING PRIMARY KEY, project STRING, face_id INT64, "
    "confirmed_as STRING, removed_from STRING, ignored BOOLEAN, suggested_as STRING, reference_faces STRING, "
    "method STRING, actor STRING, score DOUBLE, decided_at STRING, grouped_as STRING, source STRING, "
    "face_score DOUBLE)",
    "CREATE NODE TABLE IF NOT EXISTS GoneCluster(key STRING PRIMARY KEY, project STRING, cluster_id INT64, "
    "faces STRING)",
    "CREATE NODE TABLE IF NOT EXISTS LinkAction(key STRING PRIMARY KEY, project STRING, seq INT64, "
    "action STRING, actor STRING, decided_at STRING, before STRING)",
    "CREATE NODE TABLE IF NOT EXISTS ApiKey(key STRING PRIMARY KEY, key_id STRING, name STRING, project STRING, "
    "role STRING, created_at STRING, revoked_at STRING)",
    "CREATE NODE TABLE IF NOT EXISTS ShareLink(key STRING PRIMARY KEY, link_id STRING, project STRING, "
    "event_id STRING, created_by STRING, created_at STRING, expires_at STRING, password STRING, revoked_at STRING, "
    "album STRING)",
    "CREATE REL TABLE IF NOT EXISTS HAS_PHOTO(FROM Project TO Photo)",
    "CREATE REL TABLE IF NOT EXISTS HAS_CLUSTER(FROM Project TO Cluster)",
    "CREATE REL TABLE IF NOT EXISTS HAS_PERSON(FROM Project TO Person)",
    "CREATE REL TABLE IF NOT EXISTS SEEN_IN(FROM Cluster TO Photo, faces INT64)",
    "CREATE REL TABLE IF NOT EXISTS IS_PERSON(FROM Cluster TO Person)",
    f"CREATE REL TABLE IF NOT EXISTS APPEARS_IN(FROM Person TO Photo, {_APPEARANCE_COLUMNS})",
    "CREATE REL TABLE IF NOT EXISTS MEMBER_OF(FROM Person TO Organisation, role STRING, since STRING, "
    "until STRING)",
    "CREATE REL TABLE IF NOT EXISTS RELATED_TO(FROM Person TO Person, kind STRING)",
    "CREATE REL TABLE IF NOT EXISTS TOOK_PLACE_AT(FROM Photo TO Event)",
    "CREATE REL TABLE IF NOT EXISTS PART_OF(FROM Event TO Event)",
    # graph files written before these columns existed get them (no-ops on a fresh file)
    "ALTER TABLE Project ADD IF NOT EXISTS pending_run STRING DEFAULT ''",
    "ALTER TABLE Project ADD IF NOT EXISTS face_model STRING DEFAULT ''",
    "ALTER TABLE Project ADD IF NOT EXISTS face_dim INT64 DEFAULT 0",
    "ALTER TABLE Project ADD IF NOT EXISTS highest_gone INT64 DEFAULT -1",
    *(f"ALTER TABLE Person ADD IF NOT EXISTS {c} STRING DEFAULT '{'normal' if c == 'visibility' else ''}'"
      for c in _PERSON_COLUMNS),
    "ALTER TABLE FaceDecision ADD IF NOT EXISTS grouped_as STRING DEFAULT ''",
    "ALTER TABLE FaceDecision ADD IF NOT EXISTS source STRING DEFAULT ''",
    "ALTER TABLE FaceDecision ADD IF NOT EXISTS face_score DOUBLE DEFAULT -2.0",
    "ALTER TABLE Photo ADD IF NOT EXISTS body_model STRING DEFAULT ''",
    "ALTER TABLE ShareLink ADD IF NOT EXISTS album STRING DEFAULT ''",
    *(f"ALTER TABLE APPEARS_IN ADD IF NOT EXISTS {column} DEFAULT {default}" for column, default in (
        ("face_id INT64", "-1"), ("box DOUBLE[]", "[]"), ("cluster_id INT64", "-1"), ("method STRING", "'cluster'"),
        ("score DOUBLE", "-1.0"))),
)

NEO4J_SCHEMA = (
    "CREATE CONSTRAINT peoplegraph_project_name IF NOT EXISTS FOR (n:Project) REQUIRE n.name IS UNIQUE",
    *(f"CREATE CONSTRAINT peoplegraph_{label.lower()}_key IF NOT EXISTS FOR (n:{label}) REQUIRE n.key IS UNIQUE"
      for label in ("Photo", "Cluster", "Person", "Organisation", "Event", "FaceDecision", "LinkAction",
                    "GoneCluster")),
    *(f"CREATE INDEX peoplegraph_{label.lower()}_project IF NOT EXISTS FOR (n:{label}) ON (n.project)"
      for label in ("Photo", "Cluster", "Person", "Organisation", "Event", "FaceDecision", "LinkAction")),
    "CREATE CONSTRAINT peoplegraph_apikey_key IF NOT EXISTS FOR (n:ApiKey) REQUIRE n.key IS UNIQUE",
    "CREATE INDEX peoplegraph_apikey_key_id IF NOT EXISTS FOR (n:ApiKey) ON (n.key_id)",
    "CREATE CONSTRAINT peoplegraph_sharelink_key IF NOT EXISTS FOR (n:ShareLink) REQUIRE n.key IS UNIQUE",
    # graphs written before these properties existed get the embedded schema's defaults
    "MATCH (pe:Person) WHERE pe.visibility IS NULL SET "
    + ", ".join(f"pe.{c} = coalesce(pe.{c}, '{'normal' if c == 'visibility' else ''}')" for c in _PERSON_COLUMNS),
    "MATCH (d:FaceDecision) WHERE d.grouped_as IS NULL OR d.source IS NULL OR d.face_score IS NULL "
    "SET d.grouped_as = coalesce(d.grouped_as, ''), d.source = coalesce(d.source, ''), "
    "d.face_score = coalesce(d.face_score, -2.0)",
    "MATCH (:Person)-[a:APPEARS_IN]->(:Photo) WHERE a.face_id IS NULL "
    "SET a.face_id = -1, a.box = [], a.cluster_id = -1, a.method = 'cluster', a.score = -1.0",
)

ENSURE_PROJECT = "MERGE (p:Project {name: $project})"
PROJECTS = "MATCH (p:Project) RETURN p.name AS name ORDER BY name"
HAS_PHOTO = "MATCH (ph:Photo {key: $key}) RETURN count(ph) AS n"
PHOTO_KEYS = "UNWIND $keys AS k MATCH (ph:Photo {key: k}) RETURN ph.key AS key"
SET_PHOTO_PATHS = "UNWIND $rows AS r MATCH (ph:Photo {key: r.key}) SET ph.path = r.path"
ADD_PHOTOS = (
    "MATCH (pr:Project {name: $project}) "
    "UNWIND $rows AS r "
    "CREATE (ph:Photo {key: r.key, project: $project, photo_id: r.photo_id, path: r.path, width: r.width, "
    "height: r.height, face_count: r.face_count, taken_at: r.taken_at, body_model: ''}) "
    "CREATE (pr)-[:HAS_PHOTO]->(ph)"
)
_PHOTO_FIELDS = (
    "RETURN ph.photo_id AS photo_id, ph.path AS path, ph.width AS width, ph.height AS height, "
    "ph.face_count AS face_count, ph.taken_at AS taken_at ORDER BY path, photo_id"
)
PHOTOS = "MATCH (:Project {name: $project})-[:HAS_PHOTO]->(ph:Photo) " + _PHOTO_FIELDS
# bodies: the photos a body (ReID) model has looked at, people found or not
SET_BODY_MODEL = "UNWIND $keys AS k MATCH (ph:Photo {key: k}) SET ph.body_model = $model"
BODY_SCANNED = (
    "MATCH (:Project {name: $project})-[:HAS_PHOTO]->(ph:Photo) WHERE ph.body_model = $model "
    "RETURN ph.photo_id AS photo_id"
)
PHOTOS_PAGE = PHOTOS + " SKIP $offset LIMIT $limit"
PHOTOS_FROM = PHOTOS + " SKIP $offset"
PHOTOS_BY_KEY = "UNWIND $keys AS k MATCH (ph:Photo {key: k}) " + _PHOTO_FIELDS
PHOTO_COUNT = "MATCH (:Project {name: $project})-[:HAS_PHOTO]->(ph:Photo) RETURN count(ph) AS n"
_API_KEY_FIELDS = ("k.key_id AS key_id, k.name AS name, k.project AS project, k.role AS role, "
                   "k.created_at AS created_at, k.revoked_at AS revoked_at")
ADD_API_KEY = ("CREATE (k:ApiKey {key: $hash, key_id: $key_id, name: $name, project: $project, role: $role, "
               "created_at: $created_at, revoked_at: ''})")
API_KEYS = f"MATCH (k:ApiKey) WHERE k.project = $project RETURN {_API_KEY_FIELDS} ORDER BY created_at, key_id"
ALL_API_KEYS = f"MATCH (k:ApiKey) RETURN {_API_KEY_FIELDS} ORDER BY project, created_at, key_id"
API_KEY = f"MATCH (k:ApiKey) WHERE k.key_id = $key_id RETURN {_API_KEY_FIELDS}, k.key AS hash"
REVOKE_API_KEY = "MATCH (k:ApiKey) WHERE k.key_id = $key_id AND k.revoked_at = '' SET k.revoked_at = $revoked_at"
_SHARE_LINK_FIELDS = ("s.link_id AS link_id, s.project AS project, s.event_id AS event_id, s.created_by AS "
                      "created_by, s.created_at AS created_at, s.expires_at AS expires_at, s.password AS password, "
                      "s.revoked_at AS revoked_at, coalesce(s.album, '') AS album")
ADD_SHARE_LINK = ("CREATE (s:ShareLink {key: $hash, link_id: $link_id, project: $project, event_id: $event_id, "
                  "created_by: $created_by, created_at: $created_at, expires_at: $expires_at, password: $password, "
                  "revoked_at: '', album: $album})")
SHARE_LINKS = f"MATCH (s:ShareLink) WHERE s.project = $project RETURN {_SHARE_LINK_FIELDS} ORDER BY created_at, link_id"
SHARE_LINK_BY_HASH = f"MATCH (s:ShareLink {{key: $hash}}) RETURN {_SHARE_LINK_FIELDS}"
REVOKE_SHARE_LINK = ("MATCH (s:ShareLink) WHERE s.project = $project AND s.link_id = $link_id AND s.revoked_at = '' "
                     "SET s.revoked_at = $revoked_at")
FACE_TOTAL = "MATCH (:Project {name: $project})-[:HAS_PHOTO]->(ph:Photo) RETURN sum(ph.face_count) AS n"

CLUSTER_LINKS = (
    "MATCH (:Project {name: $project})-[:HAS_CLUSTER]->(c:Cluster)-[:IS_PERSON]->(pe:Person) "
    "RETURN c.cluster_id AS cluster_id, pe.person_id AS person_id"
)
DELETE_CLUSTERS = "MATCH (:Project {name: $project})-[:HAS_CLUSTER]->(c:Cluster) DETACH DELETE c"
DELETE_CLUSTERS_BY_KEY = "UNWIND $keys AS k MATCH (c:Cluster {key: k}) DETACH DELETE c"
# Some faces of each cluster a run removed, so that a client acting on its old id is told where they are now.
SET_GONE_CLUSTERS = (
    "UNWIND $rows AS r MERGE (g:GoneCluster {key: r.key}) SET g.project = $project, g.cluster_id = r.cluster_id, "
    "g.faces = r.faces"
)
DELETE_GONE_CLUSTERS = "UNWIND $keys AS k MATCH (g:GoneCluster {key: k}) DELETE g"
GONE_CLUSTER = "MATCH (g:GoneCluster {key: $key}) RETURN g.faces AS faces"
# The highest id any run removed is kept on the project (records of removed clusters are pruned, their ids
# never reused); a graph written before the mark gets it from its records when opened (SEED_HIGHEST_GONE).
HIGHEST_GONE_CLUSTER = "MATCH (p:Project {name: $project}) RETURN coalesce(p.highest_gone, -1) AS n"
RAISE_HIGHEST_GONE = ("MATCH (p:Project {name: $project}) WHERE coalesce(p.highest_gone, -1) < $top "
                      "SET p.highest_gone = $top")
SEED_HIGHEST_GONE = ("MATCH (g:GoneCluster) WITH g.project AS project, max(g.cluster_id) AS top "
                     "MATCH (p:Project {name: project}) WHERE coalesce(p.highest_gone, -1) < top SET p.highest_gone = top")
PRUNE_GONE_CLUSTERS = ("MATCH (g:GoneCluster) WHERE g.project = $project WITH g ORDER BY g.cluster_id DESC "
                       "SKIP $kept DELETE g")
CREATE_CLUSTERS = (
    "MATCH (pr:Project {name: $project}) "
    "UNWIND $rows AS r "
    "CREATE (c:Cluster {key: r.key, project: $project, cluster_id: r.cluster_id, size: r.size, "
    "representative_face_id: r.representative_face_id, representative_photo_id: r.representative_photo_id, "
    "representative_box: r.representative_box, mean_confidence: r.mean_confidence}) "
    "CREATE (pr)-[:HAS_CLUSTER]->(c)"
)
CREATE_SEEN_IN = (
    "UNWIND $rows AS r "
    "MATCH (c:Cluster {key: r.cluster}) WITH c, r MATCH (ph:Photo {key: r.photo}) "
    "CREATE (c)-[:SEEN_IN {faces: r.faces}]->(ph)"
)
CREATE_IS_PERSON = (
    "UNWIND $rows AS r "
    "MATCH (c:Cluster {key: r.cluster}) WITH c, r MATCH (pe:Person {key: r.person}) "
    "CREATE (c)-[:IS_PERSON]->(pe)"
)
CLUSTERS = (
    "MATCH (:Project {name: $project})-[:HAS_CLUSTER]->(c:Cluster) "
    "RETURN c.cluster_id AS cluster_id, c.size AS size, c.representative_face_id AS representative_face_id, "
    "c.representative_photo_id AS representative_photo_id, c.representative_box AS representative_box, "
    "c.mean_confidence AS mean_confidence ORDER BY cluster_id"
)
# A page of a project's clusters, largest first, all or only those named (confirmed) or not (unnamed): what a
# review screen shows without reading every cluster.
CLUSTERS_WITH_STATUS = (
    "MATCH (:Project {name: $project})-[:HAS_CLUSTER]->(c:Cluster) "
    "OPTIONAL MATCH (c)-[:IS_PERSON]->(pe:Person) "
    "WITH c, pe WHERE $status = 'all' OR ($status = 'unnamed' AND pe IS NULL) "
    "OR ($status = 'confirmed' AND pe IS NOT NULL) "
)
CLUSTER_PAGE = CLUSTERS_WITH_STATUS + (
    "RETURN c.cluster_id AS cluster_id, c.size AS size, c.representative_face_id AS representative_face_id, "
    "c.representative_photo_id AS representative_photo_id, c.representative_box AS representative_box, "
    "c.mean_confidence AS mean_confidence, pe.person_id AS person_id "
    "ORDER BY size DESC, cluster_id"  # then SKIP and LIMIT, formatted in
)
CLUSTER_COUNT = CLUSTERS_WITH_STATUS + "RETURN count(c) AS n"
PHOTOS_OF_CLUSTERS = (
    "MATCH (:Project {name: $project})-[:HAS_CLUSTER]->(c:Cluster)-[s:SEEN_IN]->(ph:Photo) "
    "WHERE c.cluster_id IN $cluster_ids "
    "RETURN c.cluster_id AS cluster_id, ph.photo_id AS photo_id, s.faces AS faces ORDER BY photo_id"
)
CLUSTER_PHOTOS = (
    "MATCH (:Project {name: $project})-[:HAS_CLUSTER]->(c:Cluster)-[s:SEEN_IN]->(ph:Photo) "
    "RETURN c.cluster_id AS cluster_id, ph.photo_id AS photo_id, s.faces AS faces ORDER BY photo_id"
)
PERSON_EXISTS = "MATCH (pe:Person {key: $key}) RETURN count(pe) AS n"
DELETE_APPEARS_IN = (
    "MATCH (:Project {name: $project})-[:HAS_PERSON]->(pe:Person)-[a:APPEARS_IN]->(:Photo) DELETE a"
)
DELETE_APPEARANCES_OF_FACES = (
    "UNWIND $rows AS r MATCH (ph:Photo {key: r.photo}) WITH ph, r MATCH (:Person)-[a:APPEARS_IN]->(ph) "
    "WHERE a.face_id = r.face_id DELETE a"
)
CREATE_APPEARS_IN = (
    "UNWIND $rows AS r "
    "MATCH (pe:Person {key: r.person}) WITH pe, r MATCH (ph:Photo {key: r.photo}) "
    "CREATE (pe)-[:APPEARS_IN {face_id: r.face_id, box: r.box, cluster_id: r.cluster_id, method: r.method, "
    "score: r.score}]->(ph)"
)
SET_PENDING_RUN = "MATCH (p:Project {name: $project}) SET p.pending_run = $run"
PENDING_RUN = "MATCH (p:Project {name: $project}) RETURN p.pending_run AS run"
SET_FACE_MODEL = "MERGE (p:Project {name: $project}) SET p.face_model = $model, p.face_dim = $dim"
FACE_MODEL = "MATCH (p:Project {name: $project}) RETURN p.face_model AS model, p.face_dim AS dim"
CO_APPEARANCES = (
    "MATCH (a:Person {key: $key})-[:APPEARS_IN]->(ph:Photo)<-[:APPEARS_IN]-(b:Person) "
    "WHERE b.key <> a.key AND ($everyone OR b.visibility = 'normal') "
    "RETURN b.person_id AS person_id, b.name AS name, count(DISTINCT ph) AS photos "
    "ORDER BY photos DESC, name, person_id"
)
PHOTOS_WITH_ALL = (
    "MATCH (pe:Person)-[:APPEARS_IN]->(ph:Photo) WHERE pe.key IN $keys "
    "WITH ph, count(DISTINCT pe) AS present WHERE present = $wanted " + _PHOTO_FIELDS
)
# The one statement whose dialects differ: Kuzu/LadybugDB's `* SHORTEST` against Neo4j's shortestPath().
# The hop bound must be a literal in both; it is formatted in from a checked int.
SHORTEST_CHAIN = {
    "embedded": "MATCH p = (a:Person {{key: $a}})-[:APPEARS_IN* SHORTEST 1..{hops}]-(b:Person {{key: $b}}) "
                "RETURN properties(nodes(p), 'key') AS keys",
    "neo4j": "MATCH p = shortestPath((a:Person {{key: $a}})-[:APPEARS_IN*..{hops}]-(b:Person {{key: $b}})) "
             "RETURN [n IN nodes(p) | n.key] AS keys",
}
MAX_CHAIN_STEPS = 15  # co-appearances; two hops each, and the embedded engine allows at most 30 hops
WRITE_PERSON = (
    "MATCH (pr:Project {name: $project}) "
    "MERGE (pe:Person {key: $key}) "
    "SET pe.project = $project, pe.person_id = $person_id, pe.name = $name, "
    + ", ".join(f"pe.{c} = ${c}" for c in _PERSON_COLUMNS) + " "
    "MERGE (pr)-[:HAS_PERSON]->(pe)"
)
_PERSON_FIELDS = "RETURN pe.person_id AS person_id, pe.name AS name, " + ", ".join(
    f"pe.{c} AS {c}" for c in _PERSON_COLUMNS)
PEOPLE = "MATCH (:Project {name: $project})-[:HAS_PERSON]->(pe:Person) " + _PERSON_FIELDS + " ORDER BY name, person_id"
PERSON = "MATCH (pe:Person {key: $key}) " + _PERSON_FIELDS
DELETE_PERSON = "MATCH (pe:Person {key: $key}) DETACH DELETE pe"
PEOPLE_CLUSTERS = (
    "MATCH (:Project {name: $project})-[:HAS_PERSON]->(pe:Person)<-[:IS_PERSON]-(c:Cluster) "
    "RETURN pe.person_id AS person_id, c.cluster_id AS cluster_id"
)
PEOPLE_PHOTOS = (
    "MATCH (:Project {name: $project})-[:HAS_PERSON]->(pe:Person)-[:APPEARS_IN]->(ph:Photo) "
    "RETURN pe.person_id AS person_id, count(DISTINCT ph) AS n"
)
PERSON_CLUSTERS = "MATCH (pe:Person {key: $key})<-[:IS_PERSON]-(c:Cluster) RETURN c.cluster_id AS cluster_id"
PERSON_PHOTO_COUNT = "MATCH (pe:Person {key: $key})-[:APPEARS_IN]->(ph:Photo) RETURN count(DISTINCT ph) AS n"
WRITE_ORGANISATION = (
    "MERGE (o:Organisation {key: $key}) "
    "SET o.project = $project, o.organisation_id = $organisation_id, o.name = $name, o.kind = $kind"
)
ORGANISATIONS = (
    "MATCH (o:Organisation) WHERE o.project = $project "
    "RETURN o.organisation_id AS organisation_id, o.name AS name, o.kind AS kind ORDER BY name, organisation_id"
)
ORGANISATION_EXISTS = "MATCH (o:Organisation {key: $key}) RETURN count(o) AS n"
ADD_MEMBERSHIP = (
    "MATCH (pe:Person {key: $person}), (o:Organisation {key: $organisation}) "
    "CREATE (pe)-[:MEMBER_OF {role: $role, since: $since, until: $until}]->(o)"
)
DELETE_MEMBERSHIP = (
    "MATCH (pe:Person {key: $person})-[m:MEMBER_OF]->(o:Organisation {key: $organisation}) "
    "WHERE m.role = $role AND m.since = $since DELETE m"
)
MEMBERSHIPS = (
    "MATCH (pe:Person)-[m:MEMBER_OF]->(o:Organisation) "
    "WHERE o.project = $project AND ($person = '' OR pe.key = $person) AND ($organisation = '' OR o.key = $organisation) "
    "RETURN pe.person_id AS person_id, o.organisation_id AS organisation_id, m.role AS role, m.since AS since, "
    "m.until AS until ORDER BY since, until, person_id, organisation_id, role"
)
ADD_RELATION = "MATCH (a:Person {key: $a}), (b:Person {key: $b}) CREATE (a)-[:RELATED_TO {kind: $kind}]->(b)"
DELETE_RELATION = "MATCH (a:Person {key: $a})-[r:RELATED_TO]->(b:Person {key: $b}) WHERE r.kind = $kind DELETE r"
RELATIONS = (
    "MATCH (a:Person)-[r:RELATED_TO]->(b:Person) WHERE a.key = $key OR b.key = $key "
    "RETURN a.person_id AS person_id, b.person_id AS other_id, r.kind AS kind ORDER BY kind, person_id, other_id"
)
WRITE_EVENT = (
    "MERGE (e:Event {key: $key}) "
    "SET e.project = $project, e.event_id = $event_id, e.name = $name, e.date = $date, e.place = $place"
)
DELETE_PART_OF = "MATCH (e:Event {key: $key})-[p:PART_OF]->(:Event) DELETE p"
ADD_PART_OF = "MATCH (e:Event {key: $key}), (w:Event {key: $whole}) CREATE (e)-[:PART_OF]->(w)"
EVENTS = (
    "MATCH (e:Event) WHERE e.project = $project "
    "OPTIONAL MATCH (e)-[:PART_OF]->(w:Event) "
    "RETURN e.event_id AS event_id, e.name AS name, e.date AS date, e.place AS place, w.event_id AS part_of "
    "ORDER BY date, name, event_id"
)
EVENT_EXISTS = "MATCH (e:Event {key: $key}) RETURN count(e) AS n"
UNSET_PHOTO_EVENTS = "UNWIND $keys AS k MATCH (ph:Photo {key: k})-[t:TOOK_PLACE_AT]->(:Event) DELETE t"
SET_PHOTO_EVENTS = (
    "UNWIND $keys AS k MATCH (ph:Photo {key: k}) WITH ph MATCH (e:Event {key: $event}) CREATE (ph)-[:TOOK_PLACE_AT]->(e)"
)
EVENT_PHOTOS = "MATCH (ph:Photo)-[:TOOK_PLACE_AT]->(:Event {key: $key}) " + _PHOTO_FIELDS
EVENTS_OF_PHOTOS = (
    "UNWIND $keys AS k MATCH (ph:Photo {key: k})-[:TOOK_PLACE_AT]->(e:Event) "
    "RETURN ph.photo_id AS photo_id, e.event_id AS event_id"
)
PHOTOS_TAKEN_BETWEEN = (
    "MATCH (:Project {name: $project})-[:HAS_PHOTO]->(ph:Photo) WHERE ph.taken_at >= $since AND ph.taken_at <= $until "
    + _PHOTO_FIELDS
)
PERSON_EVENTS = (
    "MATCH (:Person {key: $key})-[:APPEARS_IN]->(ph:Photo)-[:TOOK_PLACE_AT]->(e:Event) "
    "RETURN e.event_id AS event_id, count(DISTINCT ph) AS photos ORDER BY event_id"
)
# A page of each person's photos, by path: the engines slice lists differently (LadybugDB from 1, end included;
# Neo4j from 0, end excluded), and LadybugDB wants SKIP after an ORDER BY in WITH.
_PEOPLE_PHOTOS = (
    "UNWIND $keys AS key MATCH (pe:Person {{key: key}})-[:APPEARS_IN]->(ph:Photo) "
    "WITH DISTINCT pe, ph ORDER BY ph.path, ph.photo_id SKIP 0 "
    "WITH pe, collect(ph) AS photos UNWIND photos[{page}] AS ph "
    "RETURN pe.person_id AS person_id, ph.photo_id AS photo_id, ph.path AS path, ph.width AS width, "
    "ph.height AS height, ph.face_count AS face_count, ph.taken_at AS taken_at"
)
PEOPLE_PHOTOS_PAGE = {
    "embedded": _PEOPLE_PHOTOS.format(page="$offset + 1..$offset + $limit"),
    "neo4j": _PEOPLE_PHOTOS.format(page="$offset..$offset + $limit"),
}
PEOPLE_APPEARANCES = (
    "MATCH (pe:Person)-[a:APPEARS_IN]->(ph:Photo) WHERE pe.key IN $people AND ph.key IN $photos "
    "RETURN pe.person_id AS person_id, ph.photo_id AS photo_id, a.face_id AS face_id, a.box AS box, "
    "a.cluster_id AS cluster_id, a.method AS method, a.score AS score ORDER BY face_id"
)
SET_DECISIONS = (
    "UNWIND $rows AS r "
    "MERGE (d:FaceDecision {key: r.key}) "
    "SET d.project = $project, d.face_id = r.face_id, d.confirmed_as = r.confirmed_as, "
    "d.removed_from = r.removed_from, d.ignored = r.ignored, d.suggested_as = r.suggested_as, "
    "d.reference_faces = r.reference_faces, d.method = r.method, d.actor = r.actor, "
    "d.score = r.score, d.decided_at = r.decided_at, d.grouped_as = r.grouped_as, d.source = r.source, "
    "d.face_score = r.face_score"
)
_DECISION_FIELDS = (
    "RETURN d.face_id AS face_id, d.confirmed_as AS confirmed_as, d.removed_from AS removed_from, "
    "d.ignored AS ignored, d.suggested_as AS suggested_as, d.reference_faces AS reference_faces, "
    "d.method AS method, d.actor AS actor, d.score AS score, d.decided_at AS decided_at, "
    "d.grouped_as AS grouped_as, d.source AS source, d.face_score AS face_score ORDER BY face_id"
)
DECISIONS = "MATCH (d:FaceDecision) WHERE d.project = $project " + _DECISION_FIELDS
DECISIONS_BY_KEY = "UNWIND $keys AS k MATCH (d:FaceDecision {key: k}) " + _DECISION_FIELDS
DECISIONS_NAMING = (
    "MATCH (d:FaceDecision) WHERE d.project = $project AND (d.confirmed_as IN $ids OR d.grouped_as IN $ids "
    "OR d.suggested_as IN $ids) " + _DECISION_FIELDS
)
# removed_from holds names joined by a separator: framed by it, one name matches whole, never a prefix
DECISIONS_REMOVED_FROM = (
    "MATCH (d:FaceDecision) WHERE d.project = $project AND ($separator + d.removed_from + $separator) "
    "CONTAINS $needle " + _DECISION_FIELDS
)
IGNORED_FACES = "MATCH (d:FaceDecision) WHERE d.project = $project AND d.ignored RETURN d.face_id AS face_id"
GROUP_MENTIONS = (
    "MATCH (d:FaceDecision) WHERE d.project = $project AND (d.grouped_as <> '' OR d.removed_from CONTAINS $prefix) "
    "RETURN d.grouped_as AS grouped_as, d.removed_from AS removed_from"
)
HUMAN_CONFIRMATIONS = (
    "MATCH (d:FaceDecision) WHERE d.project = $project AND d.confirmed_as <> '' AND d.method IN $methods "
    + _DECISION_FIELDS
)
DELETE_DECISIONS = "UNWIND $keys AS k MATCH (d:FaceDecision {key: k}) DELETE d"
DELETE_PHOTO = "MATCH (ph:Photo {key: $key}) DETACH DELETE ph"
LAST_ACTION = "MATCH (a:LinkAction) WHERE a.project = $project RETURN coalesce(max(a.seq), 0) AS n"
ADD_ACTION = (
    "CREATE (a:LinkAction {key: $key, project: $project, seq: $seq, action: $action, actor: $actor, "
    "decided_at: $decided_at, before: $before})"
)
LATEST_ACTION = (
    "MATCH (a:LinkAction) WHERE a.project = $project RETURN a.key AS key, a.seq AS seq, a.action AS action, "
    "a.actor AS actor, a.decided_at AS decided_at, a.before AS before ORDER BY seq DESC LIMIT 1"
)
DELETE_ACTION = "MATCH (a:LinkAction {key: $key}) DELETE a"
ACTIONS = (
    "MATCH (a:LinkAction) WHERE a.project = $project RETURN a.seq AS seq, a.action AS action, a.actor AS actor, "
    "a.decided_at AS decided_at, a.before AS before ORDER BY seq"
)

DROP_PROJECT = (
    "MATCH (o:Organisation) WHERE o.project = $project DETACH DELETE o",
    "MATCH (e:Event) WHERE e.project = $project DETACH DELETE e",
    "MATCH (d:FaceDecision) WHERE d.project = $project DELETE d",
    "MATCH (a:LinkAction) WHERE a.project = $project DELETE a",
    "MATCH (g:GoneCluster) WHERE g.project = $project DELETE g",
    "MATCH (k:ApiKey) WHERE k.project = $project DELETE k",
    "MATCH (s:ShareLink) WHERE s.project = $project DELETE s",
    "MATCH (:Project {name: $project})-[:HAS_PHOTO]->(n:Photo) DETACH DELETE n",
    "MATCH (:Project {name: $project})-[:HAS_CLUSTER]->(n:Cluster) DETACH DELETE n",
    "MATCH (:Project {name: $project})-[:HAS_PERSON]->(n:Person) DETACH DELETE n",
    "MATCH (p:Project {name: $project}) DETACH DELETE p",
)
