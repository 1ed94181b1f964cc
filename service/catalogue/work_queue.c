/* work_queue.c: see work_queue.h. */
#include "catalogue/work_queue.h"

void work_queue_push(struct work_queue *q, struct queue_node *node, enum queue_place place)
{
    struct queue_node *after = NULL;    /* NULL: at the head */
    switch (place) {
    case QUEUE_BACK:
        after = q->tail;
        break;
    case QUEUE_AHEAD:
        after = q->ahead_tail;
        break;
    case QUEUE_FIRST:
        break;
    }
    if (after) {
        node->next = after->next;
        after->next = node;
    } else {
        node->next = q->head;
        q->head = node;
    }
    if (!node->next)
        q->tail = node;
    if (place == QUEUE_AHEAD || (place == QUEUE_FIRST && !q->ahead_tail))
        q->ahead_tail = node;
    node->in_back = place == QUEUE_BACK;
    q->n++;
}

void work_queue_unlink(struct work_queue *q, struct queue_node *prev, struct queue_node *node)
{
    if (prev)
        prev->next = node->next;
    else
        q->head = node->next;
    if (q->tail == node)
        q->tail = prev;
    if (q->ahead_tail == node)
        q->ahead_tail = prev;
    node->next = NULL;
    node->in_back = 0;
    q->n--;
}

int work_queue_move_ahead(struct work_queue *q, struct queue_node *node)
{
    if (!node->in_back)
        return 0;
    struct queue_node *prev = q->ahead_tail;
    struct queue_node *x = prev ? prev->next : q->head;
    while (x != node) {         /* in the back part: found before the end */
        prev = x;
        x = x->next;
    }
    work_queue_unlink(q, prev, node);
    work_queue_push(q, node, QUEUE_AHEAD);
    return 1;
}

struct queue_node *work_queue_pop(struct work_queue *q)
{
    struct queue_node *node = q->head;
    if (node)
        work_queue_unlink(q, NULL, node);
    return node;
}
