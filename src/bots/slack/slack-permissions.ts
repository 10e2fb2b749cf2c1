import type { webApi } from '@slack/bolt';
import { toSlackError } from './slack-api.js';

/**
 * Who may change settings and act on alerts: workspace admins and owners (users.info), or
 * members of the configured user group (SLACK_ADMIN_GROUP, usergroups.users.list).
 */
export async function canModerate(client: webApi.WebClient, userId: string, adminGroup: string | undefined): Promise<boolean> {
  try {
    const info = await client.users.info({ user: userId });
    const user = info.user;
    if (user?.is_admin === true || user?.is_owner === true || user?.is_primary_owner === true) return true;
    if (adminGroup === undefined) return false;
    const group = await client.usergroups.users.list({ usergroup: adminGroup });
    return (group.users ?? []).includes(userId);
  } catch (error) {
    throw toSlackError(error, 'checking your permissions');
  }
}

export const NOT_ALLOWED =
  'Only workspace admins and owners (or members of the genguard admin group) can do that.';
