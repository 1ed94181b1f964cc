/* work_queue.c: see work_queue.h. */
#include "catalogue/work_queue.h"

void work_queue_init(struct work_queue *q)
{
    TAILQ_INIT(&q->nodes);
    q->ahead_tail = NULL;
    q->n = 0;
}

void work_queue_push(struct work_queue *q, struct queue_node *node, enum queue_place place)
{
    struct queue_node *after = place == QUEUE_IN_TURN ? TAILQ_LAST(&q->nodes, queue_nodes)
                               : place == QUEUE_AHEAD ? q->ahead_tail
                                                      : NULL;   /* NULL: at the head */
    if (after)
        TAILQ_INSERT_AFTER(&q->nodes, after, node, link);
    else
        TAILQ_INSERT_HEAD(&q->nodes, node, link);
    if (place == QUEUE_AHEAD || (place == QUEUE_FIRST && !q->ahead_tail))
        q->ahead_tail = node;
    node->in_turn = place == QUEUE_IN_TURN;
    q->n++;
}

void work_queue_unlink(struct work_queue *q, struct queue_node *node)
{
    if (q->ahead_tail == node)
        q->ahead_tail = TAILQ_PREV(node, queue_nodes, link);
    TAILQ_REMOVE(&q->nodes, node, link);
    node->in_turn = 0;
    q->n--;
}

int work_queue_move_ahead(struct work_queue *q, struct queue_node *node)
{
    if (!node->in_turn)
        return 0;
    work_queue_unlink(q, node);
    work_queue_push(q, node, QUEUE_AHEAD);
    return 1;
}

struct queue_node *work_queue_pop(struct work_queue *q)
{
    struct queue_node *node = TAILQ_FIRST(&q->nodes);
    if (node)
        work_queue_unlink(q, node);
    return node;
}

struct queue_node *work_queue_first(const struct work_queue *q)
{
    return TAILQ_FIRST(&q->nodes);
}

struct queue_node *work_queue_next(const struct queue_node *node)
{
    return TAILQ_NEXT(node, link);
}
