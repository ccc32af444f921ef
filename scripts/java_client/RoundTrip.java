// Round trip through the Java client generated from openapi/openapi.json
// (openapi-generator 7.26, --generator-name java --library native).
// Driven by scripts/java_client_roundtrip.sh; usage: java RoundTrip http://127.0.0.1:PORT
//
// 1. upsert a document with metadata {"zip": "02134", "flag": "true", "weight": 2,
//    "ratio": 2.5, "reviewed": true}
// 2. GET it back and read its metadata through the generated model classes
// 3. search with a filter whose metadata is exactly what was read back
// 4. expect the document among the hits
// 5. GET /v1/documents?offset=3000000000 must parse (DocumentPage offset/total are long)
// Exits 1 when any step fails.
//
// The generated ApiClient (and its stock ObjectMapper) is used exactly as generated.
// Response metadata (Document / DocumentSummary `metadata`) is declared in the spec as an
// untyped JSON value (`additionalProperties: {}`), so Document.getMetadata() is a
// Map<String, Object> holding plain Jackson values (String, Integer/Long/BigInteger or
// Double, Boolean). Request metadata (NewDocument, SearchFilters) is still the oneOf
// [string, number, boolean] wrapper MetadataValue, so the filter is built by wrapping each
// value read back (number -> new BigDecimal(value.toString())).
// An earlier spec declared response metadata as that oneOf too; its generated deserializer
// counted "02134" as both a number and a string ("2 classes match") under Jackson's default
// scalar coercion, which needed a non-stock ObjectMapper (ALLOW_COERCION_OF_SCALARS
// disabled). Responses no longer go through MetadataValue, so that workaround is gone.

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.openapitools.client.ApiClient;
import org.openapitools.client.ApiException;
import org.openapitools.client.api.DocumentsApi;
import org.openapitools.client.api.SearchApi;
import org.openapitools.client.model.Document;
import org.openapitools.client.model.DocumentPage;
import org.openapitools.client.model.MetadataValue;
import org.openapitools.client.model.NewDocument;
import org.openapitools.client.model.SearchFilters;
import org.openapitools.client.model.SearchHit;
import org.openapitools.client.model.SearchRequest;
import org.openapitools.client.model.SearchResponse;
import org.openapitools.client.model.UpsertRequest;
import org.openapitools.client.model.UpsertResponse;
import org.openapitools.client.model.UpsertResult;

public final class RoundTrip {
    private static final String DOC_ID = "java-roundtrip-1";
    private static final String TEXT =
        "The Java round-trip client stored this note about the cobalt lighthouse keeper of Quillmere harbour. "
        + "Every evening the keeper polished the brass lens and logged the passing ferries.";
    private static final long BIG_OFFSET = 3_000_000_000L;

    private static final List<String> failures = new ArrayList<>();

    private static void check(boolean ok, String what) {
        System.out.println((ok ? "  ok   " : "  FAIL ") + what);
        if (!ok) failures.add(what);
    }

    private static String describe(Throwable e) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (sb.length() > 0) sb.append("\n    caused by: ");
            sb.append(t.getClass().getName()).append(": ").append(t.getMessage());
            if (t instanceof ApiException) {
                ApiException ae = (ApiException) t;
                sb.append(" [HTTP ").append(ae.getCode()).append("] body=").append(ae.getResponseBody());
            }
        }
        return sb.toString();
    }

    private static String show(Map<String, ?> md) {
        StringBuilder sb = new StringBuilder("{");
        for (Map.Entry<String, ?> e : md.entrySet()) {
            if (sb.length() > 1) sb.append(", ");
            Object v = e.getValue() instanceof MetadataValue
                ? ((MetadataValue) e.getValue()).getActualInstance() : e.getValue();
            sb.append(e.getKey()).append('=')
              .append(v instanceof String ? "\"" + v + "\"" : String.valueOf(v))
              .append(" (").append(v == null ? "null" : v.getClass().getSimpleName()).append(')');
        }
        return sb.append('}').toString();
    }

    /** A value read back (plain Jackson Object) equals what was sent, with the same JSON type. */
    private static boolean sameValue(Object got, Object want) {
        if (got == null) return false;
        if (want instanceof BigDecimal) {   // any JSON number: Integer, Long, BigInteger, Double, BigDecimal
            return got instanceof Number
                && new BigDecimal(got.toString()).compareTo((BigDecimal) want) == 0;
        }
        return want.equals(got);   // String must stay String, Boolean must stay Boolean
    }

    /** Wrap a plain value read back into the request-side oneOf wrapper. */
    private static MetadataValue wrap(Object v) {
        if (v instanceof String) return new MetadataValue((String) v);
        if (v instanceof Boolean) return new MetadataValue((Boolean) v);
        if (v instanceof Number) return new MetadataValue(new BigDecimal(v.toString()));
        throw new IllegalArgumentException("unexpected metadata value type "
            + (v == null ? "null" : v.getClass().getName()));
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: java RoundTrip BASE_URL");
            System.exit(2);
        }
        ApiClient client = new ApiClient();
        client.updateBaseUri(args[0]);
        System.out.println("client: generated ApiClient with its stock ObjectMapper");
        DocumentsApi documents = new DocumentsApi(client);
        SearchApi search = new SearchApi(client);

        Map<String, Object> sent = new LinkedHashMap<>();
        sent.put("zip", "02134");
        sent.put("flag", "true");
        sent.put("weight", new BigDecimal("2"));
        sent.put("ratio", new BigDecimal("2.5"));
        sent.put("reviewed", Boolean.TRUE);

        // (1) upsert
        System.out.println("(1) POST /v1/documents");
        try {
            NewDocument doc = new NewDocument().id(DOC_ID).title("Java round trip").text(TEXT);
            for (Map.Entry<String, Object> e : sent.entrySet()) {
                doc.putMetadataItem(e.getKey(), wrap(e.getValue()));
            }
            System.out.println("  sent metadata " + show(doc.getMetadata()));
            UpsertResponse up = documents.upsertDocuments(new UpsertRequest().addDocumentsItem(doc));
            UpsertResult r = up.getResults().get(0);
            System.out.println("  result id=" + r.getId() + " status=" + r.getStatus() + " chunk_count=" + r.getChunkCount());
            check(DOC_ID.equals(r.getId()), "upsert returned the document id");
        } catch (Exception e) {
            check(false, "upsert: " + describe(e));
        }

        // (2) GET it back
        System.out.println("(2) GET /v1/documents/" + DOC_ID);
        Map<String, Object> readBack = null;
        try {
            Document d = documents.getDocument(DOC_ID, null);
            readBack = d.getMetadata();   // Map<String, Object>: plain JSON values
            System.out.println("  read metadata " + show(readBack));
            check(readBack.size() == sent.size(), "read back " + sent.size() + " metadata keys");
            for (Map.Entry<String, Object> e : sent.entrySet()) {
                check(sameValue(readBack.get(e.getKey()), e.getValue()),
                      "metadata " + e.getKey() + " read back as the same type and value");
            }
            check(readBack.get("zip") instanceof String && "02134".equals(readBack.get("zip")),
                  "zip is java.lang.String \"02134\" (leading zero kept, not a number)");
            check(readBack.get("flag") instanceof String && "true".equals(readBack.get("flag")),
                  "flag is java.lang.String \"true\" (not a Boolean)");
            check(readBack.get("weight") instanceof Number
                  && new BigDecimal(readBack.get("weight").toString()).compareTo(BigDecimal.valueOf(2)) == 0,
                  "weight is a java.lang.Number equal to 2");
            check(readBack.get("ratio") instanceof Number
                  && new BigDecimal(readBack.get("ratio").toString()).compareTo(new BigDecimal("2.5")) == 0,
                  "ratio is a java.lang.Number equal to 2.5");
            check(Boolean.TRUE.equals(readBack.get("reviewed")),
                  "reviewed is java.lang.Boolean true");
        } catch (Exception e) {
            check(false, "get document: " + describe(e));
        }

        // (3) + (4) search filtered by exactly the metadata read back
        System.out.println("(3) POST /v1/search with filters.metadata = metadata read back");
        if (readBack == null) {
            check(false, "search skipped: no metadata was read back");
        } else {
            try {
                Map<String, MetadataValue> filter = new LinkedHashMap<>();
                for (Map.Entry<String, Object> e : readBack.entrySet()) {
                    filter.put(e.getKey(), wrap(e.getValue()));
                }
                System.out.println("  filter metadata " + show(filter));
                SearchRequest req = new SearchRequest()
                    .query("cobalt lighthouse keeper of Quillmere harbour")
                    .k(10)
                    .filters(new SearchFilters().metadata(filter));
                SearchResponse resp = search.searchPassages(req);
                System.out.println("  " + resp.getHits().size() + " hit(s)");
                boolean found = false;
                for (SearchHit h : resp.getHits()) {
                    System.out.println("    " + h.getCitation().getDocumentId() + " score=" + h.getScore()
                        + " chars " + h.getCitation().getCharStart() + ".." + h.getCitation().getCharEnd());
                    found |= DOC_ID.equals(h.getCitation().getDocumentId());
                }
                System.out.println("(4) document among the hits");
                check(found, "search found " + DOC_ID);
            } catch (Exception e) {
                check(false, "search: " + describe(e));
            }
        }

        // (5) listing with an offset past 2^31
        System.out.println("(5) GET /v1/documents?offset=" + BIG_OFFSET);
        try {
            DocumentPage page = documents.listDocuments(BIG_OFFSET, null, null);
            System.out.println("  offset=" + page.getOffset() + " total=" + page.getTotal() + " limit=" + page.getLimit()
                + " next_offset=" + page.getNextOffset() + " items=" + page.getItems().size());
            check(page.getOffset() != null && page.getOffset() == BIG_OFFSET, "DocumentPage.offset is the long " + BIG_OFFSET);
            check(page.getTotal() != null && page.getTotal() >= 1, "DocumentPage.total parsed");
            check(page.getItems().isEmpty(), "no items past the end");
        } catch (Exception e) {
            check(false, "list documents: " + describe(e));
        }

        if (failures.isEmpty()) {
            System.out.println("PASS: Java client round trip");
        } else {
            System.out.println("FAIL: " + failures.size() + " check(s) failed");
            System.exit(1);
        }
    }
}
