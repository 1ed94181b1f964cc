/* test_work_queue.c: the catalogue's work queue (work_queue.h): where
 * work goes (first, ahead, back), taken out and moved ahead. */
#include "catalogue/work_queue.h"
#include "unit.h"

/* The queue's order as a string of node names, checked against its links. */
struct named_node {
    struct queue_node node;     /* first: a node is its named_node */
    char name;
};

static const char *queue_order(const struct work_queue *q, char *out)
{
    size_t n = 0;
    const struct queue_node *last = NULL;
    for (const struct queue_node *x = work_queue_first(q); x; x = work_queue_next(x)) {
        out[n++] = ((const struct named_node *)x)->name;
        last = x;
    }
    out[n] = '\0';
    return n == q->n && TAILQ_LAST(&q->nodes, queue_nodes) == last ? out : "(links broken)";
}

TEST(work_queue_places)
{
    struct work_queue q;
    work_queue_init(&q);
    struct named_node nodes[8];
    char buf[16];
    memset(nodes, 0, sizeof nodes);     /* never queued: in_turn 0 */
    for (int i = 0; i < 8; i++)
        nodes[i].name = (char)('a' + i);
    CHECK(work_queue_pop(&q) == NULL);
    work_queue_push(&q, &nodes[0].node, QUEUE_IN_TURN);           /* a */
    work_queue_push(&q, &nodes[1].node, QUEUE_IN_TURN);           /* a b */
    work_queue_push(&q, &nodes[2].node, QUEUE_AHEAD);          /* c a b */
    work_queue_push(&q, &nodes[3].node, QUEUE_AHEAD);          /* c d a b: ahead, in order */
    work_queue_push(&q, &nodes[4].node, QUEUE_IN_TURN);           /* c d a b e */
    work_queue_push(&q, &nodes[5].node, QUEUE_FIRST);          /* f c d a b e */
    CHECK_STR(queue_order(&q, buf), "fcdabe");
    CHECK(q.ahead_tail == &nodes[3].node);
    /* Taken out from the middle: d (the last one ahead), then e (the
     * tail). */
    work_queue_unlink(&q, &nodes[3].node);
    CHECK_STR(queue_order(&q, buf), "fcabe");
    CHECK(q.ahead_tail == &nodes[2].node);
    work_queue_unlink(&q, &nodes[4].node);
    CHECK_STR(queue_order(&q, buf), "fcab");
    work_queue_push(&q, &nodes[6].node, QUEUE_AHEAD);          /* f c g a b */
    CHECK_STR(queue_order(&q, buf), "fcgab");
    CHECK(work_queue_pop(&q) == &nodes[5].node);
    CHECK(work_queue_pop(&q) == &nodes[2].node);
    CHECK(work_queue_pop(&q) == &nodes[6].node);
    CHECK(q.ahead_tail == NULL);                               /* nothing ahead left */
    work_queue_push(&q, &nodes[7].node, QUEUE_AHEAD);          /* h a b */
    CHECK_STR(queue_order(&q, buf), "hab");
    CHECK(work_queue_pop(&q) == &nodes[7].node);
    CHECK(work_queue_pop(&q) == &nodes[0].node);
    CHECK(work_queue_pop(&q) == &nodes[1].node);
    CHECK(work_queue_pop(&q) == NULL);
    CHECK(q.n == 0 && !work_queue_first(&q) && !q.ahead_tail);
    /* A retry into an empty queue counts as ahead: ahead work comes after it. */
    work_queue_push(&q, &nodes[0].node, QUEUE_IN_TURN);
    work_queue_push(&q, &nodes[1].node, QUEUE_FIRST);
    work_queue_push(&q, &nodes[2].node, QUEUE_AHEAD);
    CHECK_STR(queue_order(&q, buf), "bca");
    /* Moved ahead from its turn (here the tail), once only. */
    work_queue_push(&q, &nodes[3].node, QUEUE_IN_TURN);           /* b c a d */
    CHECK(work_queue_move_ahead(&q, &nodes[3].node) == 1);     /* b c d a */
    CHECK_STR(queue_order(&q, buf), "bcda");
    CHECK(q.ahead_tail == &nodes[3].node);
    CHECK(work_queue_move_ahead(&q, &nodes[3].node) == 0);     /* already ahead */
    CHECK(work_queue_move_ahead(&q, &nodes[1].node) == 0);
    CHECK(work_queue_move_ahead(&q, &nodes[7].node) == 0);     /* not queued */
    CHECK_STR(queue_order(&q, buf), "bcda");
    CHECK(work_queue_move_ahead(&q, &nodes[0].node) == 1);     /* b c d a */
    CHECK_STR(queue_order(&q, buf), "bcda");
    CHECK(q.ahead_tail == &nodes[0].node && TAILQ_LAST(&q.nodes, queue_nodes) == &nodes[0].node);
}

int main(void)
{
    RUN(work_queue_places);
    return unit_failures != 0;
}
