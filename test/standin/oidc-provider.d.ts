/** The little of oidc-provider v9 (untyped) that the PKB stand-in uses. */
declare module "oidc-provider" {
  import type { IncomingMessage, ServerResponse } from "node:http";

  export interface OidcClientLike {
    grantTypeAllowed(type: string): boolean;
  }
  export interface OidcContextLike {
    oidc: { route?: string };
  }
  export interface AccessTokenLike {
    jti: string;
    accountId?: string;
    grantId?: string;
    scope?: string;
    isExpired: boolean;
  }
  export interface GrantLike {
    addOIDCScope(scope: string): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
    destroy(): Promise<void>;
  }
  export interface InteractionLike {
    uid: string;
    prompt: { name: string };
    params: Record<string, unknown>;
    grantId?: string;
  }
  export type InteractionResult =
    | { login: { accountId: string }; consent: { grantId: string } }
    | { error: string; error_description?: string };
  export interface ResourceServerInfo {
    scope: string;
    accessTokenFormat: "opaque";
    accessTokenTTL: number;
  }

  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    /** Koa middleware. */
    use(middleware: (ctx: { path: string; body: unknown }, next: () => Promise<void>) => Promise<void>): this;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionLike>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResult,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
    on(event: "access_token.saved", listener: (token: AccessTokenLike) => void): this;
    on(event: "server_error", listener: (ctx: unknown, err: Error) => void): this;
    readonly AccessToken: {
      find(token: string): Promise<AccessTokenLike | undefined>;
      revokeByGrantId(grantId: string): Promise<void>;
    };
    readonly RefreshToken: { revokeByGrantId(grantId: string): Promise<void> };
    readonly AuthorizationCode: { revokeByGrantId(grantId: string): Promise<void> };
    readonly Grant: {
      new (init: { accountId: string; clientId: string }): GrantLike;
      find(id: string): Promise<GrantLike | undefined>;
    };
  }
}
