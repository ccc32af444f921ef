// A pipeline in JavaScript, through a client generated from the committed spec: upsert a
// document with emoji, CJK and astral characters, then search and ask for support with
// offset_encoding "utf-16", and check that every citation and evidence offset slices the
// document's text exactly with JavaScript's own String.prototype.slice. Metadata read back
// through the generated types filters to the same document; in a collection of its own the same
// id is another document. Prints the counts as JSON;
// exits 1 on the first mismatch.
import createClient from "openapi-fetch";
import type { paths } from "./generated/schema.js";

declare const process: { argv: string[]; exit(code: number): never };

const [baseUrl, apiKey, documentId, text] = process.argv.slice(2) as [string, string, string, string];
const client = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${apiKey}` } });

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

function expectSlice(what: string, start: number, end: number, expected: string): void {
  const got = stored.slice(start, end);
  if (got !== expected) fail(`${what}: text.slice(${start}, ${end}) = ${JSON.stringify(got)}, not ${JSON.stringify(expected)}`);
}

const metadata = { lang: "en", zip: "02134", flag: "true", weight: 2, ratio: 2.5, reviewed: true };
const upsert = await client.POST("/v1/documents", {
  body: { documents: [{ id: documentId, title: "Delta floods 🌊", text, metadata }] },
});
if (upsert.error) fail(`upsert: ${JSON.stringify(upsert.error)}`);

const got = await client.GET("/v1/documents/{document_id}", {
  params: { path: { document_id: documentId }, query: { offset_encoding: "utf-16" } },
});
if (got.error || !got.data) fail(`get: ${JSON.stringify(got.error)}`);
const stored: string = got.data.text;
if (got.data.char_count !== stored.length) fail(`char_count ${got.data.char_count} != text.length ${stored.length}`);

let citations = 0;
let evidence = 0;
const search = await client.POST("/v1/search", {
  body: { query: "flood warning levee 洪水 rescue boats", k: 20, offset_encoding: "utf-16", filters: { document_ids: [documentId] } },
});
if (search.error || !search.data) fail(`search: ${JSON.stringify(search.error)}`);
for (const hit of search.data.hits) {
  expectSlice("search citation", hit.citation.char_start, hit.citation.char_end, hit.text);
  citations += 1;
}

const support = await client.POST("/v1/passages/support", {
  body: { claim: "Officials in the province agreed that residents must leave by noon.", offset_encoding: "utf-16", filters: { document_ids: [documentId] } },
});
if (support.error || !support.data) fail(`support: ${JSON.stringify(support.error)}`);
for (const passage of support.data.passages) {
  expectSlice("passage citation", passage.citation.char_start, passage.citation.char_end, passage.text);
  citations += 1;
  for (const item of passage.evidence) {
    expectSlice("evidence", item.char_start, item.char_end, item.text);
    evidence += 1;
  }
}

// Metadata as read back filters to the same document: strings stay strings ("02134",
// "true"), numbers compare as numbers (2 is 2.0). Read back, values are plain JSON (unknown to
// TypeScript); a guard narrows them to what a filter takes.
type MetadataValue = string | number | boolean;
const isMetadataValue = (value: unknown): value is MetadataValue =>
  typeof value === "string" || typeof value === "number" || typeof value === "boolean";
const readBack: Record<string, MetadataValue> = {};
for (const [key, value] of Object.entries(got.data.metadata)) {
  if (!isMetadataValue(value)) fail(`metadata ${key} is ${JSON.stringify(value)}`);
  readBack[key] = value;
}
if (readBack["zip"] !== "02134" || readBack["flag"] !== "true") fail(`strings changed type: ${JSON.stringify(readBack)}`);
const filtered = await client.POST("/v1/search", {
  body: { query: "flood", filters: { metadata: readBack } },
});
if (filtered.error || !filtered.data) fail(`filtered search: ${JSON.stringify(filtered.error)}`);
if (!filtered.data.hits.some((hit) => hit.citation.document_id === documentId)) fail("metadata read back did not find its document");

// A collection of its own: the same id there is another document, and its search never
// returns the default collection's.
const name = "ts-tenant";
const created = await client.POST("/v1/collections", { body: { name } });
if (created.error || !created.data || created.data.name !== name) fail(`create collection: ${JSON.stringify(created.error)}`);
const tenantText = "Tenant notes 📓: the levee held through the night.";
const tenantUpsert = await client.POST("/v1/collections/{name}/documents", {
  params: { path: { name } },
  body: { documents: [{ id: documentId, text: tenantText }] },
});
if (tenantUpsert.error) fail(`collection upsert: ${JSON.stringify(tenantUpsert.error)}`);
const tenantSearch = await client.POST("/v1/collections/{name}/search", {
  params: { path: { name } },
  body: { query: "levee flood", k: 10, offset_encoding: "utf-16" },
});
if (tenantSearch.error || !tenantSearch.data) fail(`collection search: ${JSON.stringify(tenantSearch.error)}`);
let collectionHits = 0;
for (const hit of tenantSearch.data.hits) {
  const got = tenantText.slice(hit.citation.char_start, hit.citation.char_end);
  if (got !== hit.text) fail(`collection citation: ${JSON.stringify(got)} is not ${JSON.stringify(hit.text)}`);
  collectionHits += 1;
}
const again = await client.GET("/v1/documents/{document_id}", { params: { path: { document_id: documentId } } });
if (again.error || !again.data || again.data.text === tenantText) fail("the default collection's document changed");
const deleted = await client.DELETE("/v1/collections/{name}", { params: { path: { name } } });
if (deleted.error) fail(`delete collection: ${JSON.stringify(deleted.error)}`);

console.log(JSON.stringify({ citations, evidence, text_length_utf16: stored.length, collection_hits: collectionHits }));
