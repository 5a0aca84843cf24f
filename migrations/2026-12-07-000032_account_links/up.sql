-- Invitations become account links: the same single-use, expiring token (only its
-- SHA-256 is stored) lets an invited user set a first password ('invite'), a user who
-- forgot theirs set a new one ('reset'), and the owner of a locked account unlock it
-- ('unlock'). Reset and unlock links are asked for by nobody in the tenant.
ALTER TABLE invitations
    ADD COLUMN purpose text NOT NULL DEFAULT 'invite'
        CHECK (purpose IN ('invite', 'reset', 'unlock')),
    ALTER COLUMN invited_by DROP NOT NULL,
    ADD CONSTRAINT invitations_invite_has_inviter CHECK (purpose <> 'invite' OR invited_by IS NOT NULL);
