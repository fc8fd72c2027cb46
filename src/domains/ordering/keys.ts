/** Read-model row keys: one text column per row, so it can be a primary key and a cursor. */
export const rowKey = (tenantId: string, id: string): string => `${tenantId}:${id}`;
export const lineKey = (tenantId: string, orderId: string, productId: string): string =>
  `${tenantId}:${orderId}:${productId}`;
