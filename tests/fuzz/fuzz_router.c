/* fuzz_router.c - the route matcher with any method and path: "METHOD PATH" (no space: GET). */
#include "fuzz.h"
#include "sharaka/router.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena a = {0};
    char *text = fuzz_text(data, size);
    char *space = strchr(text, ' ');
    const char *method = "GET", *path = text;
    if (space != NULL) {
        *space = '\0';
        method = text;
        path = space + 1;
    }

    const struct route *rt = NULL;
    const char *params[HTTP_MAX_PARAMS];
    int n = -1;
    char allow[128];
    switch (router_match(&a, method, path, &rt, params, &n, allow, sizeof(allow))) {
    case ROUTE_FOUND:
        FUZZ_ASSERT(rt != NULL);
        FUZZ_ASSERT(strcmp(rt->method, method) == 0 ||
                    (strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0));
        FUZZ_ASSERT(n >= 0 && n <= HTTP_MAX_PARAMS);
        /* A captured segment is a whole, non-empty segment of the path. */
        for (int i = 0; i < n; i++) {
            FUZZ_ASSERT(params[i] != NULL && params[i][0] != '\0');
            FUZZ_ASSERT(strchr(params[i], '/') == NULL);
            FUZZ_ASSERT(strstr(path, params[i]) != NULL);
        }
        break;
    case ROUTE_BAD_METHOD:
        /* The path matched: Allow names at least one method, and never the one refused. */
        FUZZ_ASSERT(memchr(allow, '\0', sizeof(allow)) != NULL);
        FUZZ_ASSERT(allow[0] != '\0');
        break;
    case ROUTE_NOT_FOUND:
        break;
    default:
        FUZZ_ASSERT(!"router_match returned no known result");
    }
    free(text);
    arena_free(&a);
    return 0;
}
